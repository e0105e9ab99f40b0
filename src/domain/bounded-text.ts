// Text that enters a Temporal payload (activity results, workflow input, continue-as-new state)
// must stay far below the server's blob limit (2 MB per payload by default): past it the server
// fails the activity completion or terminates the run, and the release station never runs. A
// CI log or an agent's summary has no natural bound, so it is cut here, on a UTF-8 boundary,
// with a note saying how much is missing and where the whole text is.
//
// Pure and free of Node built-ins (no Buffer, no TextEncoder): workflow code may import it to
// bound what it builds from several texts (feedback from many failures).

/** UTF-8 bytes of one code point (a lone surrogate is encoded as U+FFFD: three bytes). */
function codePointBytes(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint < 0x10000) return 3;
  return 4;
}

/** Length of `text` in UTF-8 bytes, as it is sent in a JSON payload (before escaping). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) bytes += codePointBytes(char.codePointAt(0)!);
  return bytes;
}

/** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes that ends between code points. */
function utf8Prefix(text: string, maxBytes: number): { prefix: string; bytes: number } {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = codePointBytes(char.codePointAt(0)!);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return { prefix: text.slice(0, end), bytes };
}

/** `1 KiB` and up in KiB (rounded up, so "0 KiB more" is never said), bytes below. Thousands
 * are grouped by hand: workflow code must not depend on the host's Intl data. */
export function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${String(Math.ceil(bytes / 1024)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')} KiB`;
}

/** The note appended to a cut text. */
export function cutNote(cutBytes: number, fullTextAt: string): string {
  return `\n… [cut: ${formatBytes(cutBytes)} more; the full text is in ${fullTextAt}]`;
}

/**
 * `text` unchanged when it fits in `maxBytes` UTF-8 bytes; otherwise its longest prefix that,
 * with the note naming how much was cut and `fullTextAt` (where a reader finds the whole text),
 * fits. A code point is never split (a grapheme of several code points may be).
 */
export function boundText(text: string, maxBytes: number, fullTextAt = 'the worker log'): string {
  // Every UTF-16 unit is at most three UTF-8 bytes: short texts need no scan.
  if (text.length * 3 <= maxBytes) return text;
  const total = utf8Length(text);
  if (total <= maxBytes) return text;
  // The note's length depends on how much is cut ("17 KiB" for the whole text, "125 bytes" for
  // the final cut can be longer), so reserve room for it and grow the reserve until both fit.
  let reserve = utf8Length(cutNote(total, fullTextAt));
  for (;;) {
    if (reserve >= maxBytes) return utf8Prefix(cutNote(total, fullTextAt), maxBytes).prefix;
    const { prefix, bytes } = utf8Prefix(text, maxBytes - reserve);
    const note = cutNote(total - bytes, fullTextAt);
    const size = bytes + utf8Length(note);
    if (size <= maxBytes) return `${prefix}${note}`;
    reserve += size - maxBytes;
  }
}

/**
 * Bounds texts that travel together (the failure summaries of one PR) to `maxTotalBytes` in all:
 * each gets an even share, and what a short text leaves of its share goes to the longer ones, so
 * one huge text cannot crowd out the others. Order is kept. Callers that may meet very many
 * texts keep only as many as can have a useful share (see `readPullRequest`).
 */
export function boundTexts(texts: readonly string[], maxTotalBytes: number, fullTextAt = 'the worker log'): string[] {
  const sizes = texts.map(utf8Length);
  const bySize = texts.map((_, index) => index).sort((a, b) => sizes[a]! - sizes[b]!);
  const out: string[] = new Array<string>(texts.length);
  let left = maxTotalBytes;
  for (const [rank, index] of bySize.entries()) {
    const share = Math.floor(left / (texts.length - rank));
    out[index] = sizes[index]! <= share ? texts[index]! : boundText(texts[index]!, share, fullTextAt);
    left -= sizes[index]! <= share ? sizes[index]! : utf8Length(out[index]);
  }
  return out;
}

/** The default of `policies.payloadLimit`, for callers without a config at hand. */
export const DEFAULT_PAYLOAD_LIMIT = 16 * 1024;
