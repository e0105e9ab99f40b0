// `npm run test:cluster` and `.ci/run` call this first: find or build the self-hosted Temporal
// server and its SQL schema tool (the cluster tests run them on PostgreSQL). The first build
// takes minutes: this says what it is doing and how long it took.
import { ensureServerBinaries, binaryVersion, TemporalServerMissingError } from '../src/temporal/server-binary.js';

try {
  console.error('[conveyor] Looking for temporal-server and temporal-sql-tool (self-hosted Temporal, for the cluster tests).');
  const binaries = ensureServerBinaries();
  console.error(`[conveyor] temporal-server: ${binaries.server} (${binaryVersion(binaries.server) ?? 'version unknown'})`);
  console.error(`[conveyor] temporal-sql-tool: ${binaries.sqlTool} (${binaryVersion(binaries.sqlTool) ?? 'version unknown'})`);
} catch (err) {
  if (err instanceof TemporalServerMissingError) {
    console.error(`[conveyor] ${err.message}`);
    process.exit(1);
  }
  throw err;
}
