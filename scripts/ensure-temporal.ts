// `npm test`, `npm run dev` and `.ci/run` call this first: find or build the Temporal CLI.
import { execFileSync } from 'node:child_process';
import { ensureTemporalCli, TemporalCliMissingError } from '../src/temporal/cli-binary.js';

try {
  const cli = ensureTemporalCli();
  const version = execFileSync(cli, ['--version'], { encoding: 'utf8' }).trim();
  console.error(`[conveyor] Temporal CLI: ${cli} (${version})`);
} catch (err) {
  if (err instanceof TemporalCliMissingError) {
    console.error(`[conveyor] ${err.message}`);
    process.exit(1);
  }
  throw err;
}
