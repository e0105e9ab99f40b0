// Text bound for a Temporal payload: cut on a UTF-8 boundary, with a note, never past the bound.
// Guards the report of a run the server terminated because a CI log made a payload too big, so
// its release station never ran.
import { describe, expect, it } from 'vitest';
import { boundText, boundTexts, cutNote, utf8Length } from '../../src/domain/bounded-text.js';
import { parseByteSize } from '../../src/domain/byte-size.js';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('boundText', () => {
  it('returns a text that fits unchanged, at the bound exactly too', () => {
    expect(boundText('', 10)).toBe('');
    expect(boundText('short', 1024)).toBe('short');
    const exact = 'é'.repeat(600); // 1200 bytes, 600 UTF-16 units
    expect(boundText(exact, 1200)).toBe(exact);
  });

  it('cuts a long text to the bound with a note of how much is missing and where the rest is', () => {
    const text = 'x'.repeat(5 * 1024 * 1024);
    const bounded = boundText(text, 16 * 1024, "the check run's page");
    expect(bytes(bounded)).toBeLessThanOrEqual(16 * 1024);
    expect(bounded.startsWith('x'.repeat(16_000))).toBe(true);
    const kept = bounded.indexOf('\n…');
    expect(bounded.slice(kept)).toBe(cutNote(text.length - kept, "the check run's page"));
    expect(bounded).toMatch(/\n… \[cut: 5,105 KiB more; the full text is in the check run's page\]$/);
  });

  it('stays within the bound when less than 1 KiB is cut, where the note says "bytes" and grows (found by 5 MB of CI output end to end)', () => {
    for (let over = 1; over <= 2_000; over += 7) {
      const text = 'y'.repeat(16 * 1024 + over);
      const bounded = boundText(text, 16 * 1024);
      expect(bytes(bounded)).toBeLessThanOrEqual(16 * 1024);
      expect(bounded.slice(bounded.indexOf('\n…'))).toBe(cutNote(text.length - bounded.indexOf('\n…'), 'the worker log'));
    }
  });

  it('never splits a multi-byte character: 2-, 3- and 4-byte code points and surrogate pairs', () => {
    for (const char of ['é', '€', '語', '😀', '𝄞']) {
      const text = `a${char.repeat(3000)}`;
      for (let limit = 200; limit < 260; limit += 1) {
        const bounded = boundText(text, limit, 'the worker log');
        expect(bytes(bounded)).toBeLessThanOrEqual(limit);
        const kept = bounded.slice(0, bounded.indexOf('\n…'));
        // Round-trips through UTF-8 unchanged: no lone surrogate, no half of a sequence.
        expect(Buffer.from(kept, 'utf8').toString('utf8')).toBe(kept);
        expect(kept).toMatch(new RegExp(`^a(?:${char})*$`, 'u'));
        // As much as fits: one more character would not have.
        expect(utf8Length(kept) + utf8Length(char) + utf8Length(bounded.slice(kept.length))).toBeGreaterThan(limit);
      }
    }
  });

  it('counts UTF-8 bytes as Node does, lone surrogates included', () => {
    for (const text of ['', 'ascii', 'é€語😀', 'a\uD800b', '\uDC00', 'x'.repeat(1000)]) expect(utf8Length(text)).toBe(bytes(text));
  });

  it('keeps within a bound smaller than its own note', () => {
    expect(bytes(boundText('y'.repeat(10_000), 20))).toBeLessThanOrEqual(20);
  });
});

describe('boundTexts', () => {
  it('bounds texts together, giving what short ones leave to the long ones, in order', () => {
    const huge = 'h'.repeat(5_000_000);
    const texts = ['small one', huge, 'another small', `${'m'.repeat(3000)}`];
    const bounded = boundTexts(texts, 8 * 1024);
    expect(bounded.reduce((sum, t) => sum + bytes(t), 0)).toBeLessThanOrEqual(8 * 1024);
    expect(bounded[0]).toBe('small one');
    expect(bounded[2]).toBe('another small');
    expect(bounded[3]).toBe(texts[3]); // 3,000 bytes fit in an even share of what is left
    expect(bounded[1]).toMatch(/^h+\n… \[cut: [\d,]+ KiB more; the full text is in the worker log\]$/);
    expect(bytes(bounded[1]!)).toBeGreaterThan(4 * 1024);
  });
});

describe('parseByteSize (policies.payloadLimit)', () => {
  it('reads byte counts and binary units, and refuses ambiguous or malformed sizes', () => {
    expect(parseByteSize(4096)).toBe(4096);
    expect(parseByteSize('16KiB')).toBe(16_384);
    expect(parseByteSize(' 64 KiB ')).toBe(65_536);
    expect(parseByteSize('1MiB')).toBe(1_048_576);
    expect(parseByteSize('512B')).toBe(512);
    for (const bad of ['16KB', '16kb', '1.5KiB', '-1', 'lots', '', 1.5, -3]) expect(parseByteSize(bad)).toBeNull();
  });
});
