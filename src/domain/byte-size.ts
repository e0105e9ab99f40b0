// Sizes in config are a byte count or a string with a binary unit (`512B`, `16KiB`, `1MiB`).
// Decimal units (kB, MB) are refused rather than guessed: 16KB means 16,000 to some readers and
// 16,384 to others, and a limit is the place where that difference matters.
const UNIT_BYTES = { B: 1, KiB: 1024, MiB: 1024 * 1024 } as const;
const PATTERN = /^(\d+)\s*(B|KiB|MiB)$/;

export const BYTE_SIZE_HINT = 'a whole number of bytes or a size with a binary unit, e.g. 16384, 16KiB, 64KiB';

/** Bytes of `value`, or null when it is not a size (see BYTE_SIZE_HINT). */
export function parseByteSize(value: number | string): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  const match = PATTERN.exec(value.trim());
  if (!match) return null;
  return Number(match[1]) * UNIT_BYTES[match[2] as keyof typeof UNIT_BYTES];
}
