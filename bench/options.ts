// What every bench's command line shares: whole-number options checked with a message that names
// the option (and no stack trace) before anything starts.

/** `value` as a positive whole number; otherwise says which option was wrong and exits 2. */
export function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (Number.isInteger(n) && n >= 1) return n;
  process.stderr.write(`--${name} takes a positive whole number, not "${value}" (see --help)\n`);
  process.exit(2);
}
