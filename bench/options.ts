// What every bench's command line shares: --help, and options checked with a message that names
// the option (and no stack trace) before anything starts.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { durationMs } from '../src/domain/duration.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
const HELP_OPTION = { help: { type: 'boolean', short: 'h', default: false } } as const;
type BenchArgs<O extends OptionsConfig> = ReturnType<typeof parseArgs<{ options: O & typeof HELP_OPTION; allowPositionals: true }>>;

/** Says what was wrong with the command line and exits 2. */
export function usageError(message: string): never {
  process.stderr.write(`${message} (see --help)\n`);
  process.exit(2);
}

/**
 * The bench's command line read against `options` (plus --help/-h, which prints `help` and exits
 * 0). An unknown option or an option without its value is said in one line, exit 2.
 */
export function benchArgs<const O extends OptionsConfig>(options: O, help: string): BenchArgs<O> {
  let parsed: BenchArgs<O>;
  try {
    parsed = parseArgs({ options: { ...options, ...HELP_OPTION }, allowPositionals: true }) as BenchArgs<O>;
  } catch (error) {
    usageError((error as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${help}\n`);
    process.exit(0);
  }
  return parsed;
}

/** `value` as a positive whole number; otherwise says which option was wrong and exits 2. */
export function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (Number.isInteger(n) && n >= 1) return n;
  usageError(`--${name} takes a positive whole number, not "${value}"`);
}

/** `value` as a duration in ms (`30s`, `5m`); otherwise says which option was wrong and exits 2. */
export function duration(name: string, value: string): number {
  try {
    return durationMs(value);
  } catch (error) {
    usageError(`--${name}: ${(error as Error).message}`);
  }
}
