// placeholder until the payload-bounds work lands
export function boundText(text: string, maxBytes: number): string {
  return text.length > maxBytes ? text.slice(0, maxBytes) : text;
}
