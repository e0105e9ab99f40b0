// Durations in config and workflow input are strings like `90s`, `10m`, `7d`, so a test can
// run a seven-day review deadline in two seconds by changing one value.
export type DurationString = string;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

export function isDuration(value: string): boolean {
  return PATTERN.test(value.trim());
}

export function durationMs(value: DurationString): number {
  const match = PATTERN.exec(value.trim());
  if (!match) throw new Error(`"${value}" is not a duration: write a number and a unit, e.g. 500ms, 30s, 10m, 2h, 7d`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
}

/** The shortest exact spelling: 7_800_000 → `130m`, 1_500 → `1500ms`. */
export function formatDuration(ms: number): DurationString {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms > 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
