// Text from a tracker, a forge or an agent, shown inside markdown (the Web UI's summaries and
// details): shown as text, never as links or emphasis it did not mean.

/** Markdown's link and emphasis characters escaped. */
export function markdownText(text: string): string {
  return text.replace(/[\\`*_[\]()<>#!|]/g, (c) => `\\${c}`);
}
