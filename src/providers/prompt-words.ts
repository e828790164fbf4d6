import { createHash } from 'node:crypto';

/** A small deterministic PRNG (mulberry32), seeded from a hash, so the same prompt gives the same reply. */
export function randomFrom(text: string): () => number {
  let state = createHash('sha256').update(text).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The words of a text, as a person would quote them (punctuation inside words kept). */
export function wordsOf(text: string): string[] {
  return text
    .split(/\s+/)
    .map((word) => word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}.,;:!?%)'"]+$/gu, ''))
    .filter((word) => /[\p{L}\p{N}]/u.test(word) && !word.includes('{') && !word.includes('}'));
}

/** Quotes contiguous runs of the prompt's words, never the same run twice while others remain. */
export class PhrasePicker {
  private readonly used = new Set<string>();
  constructor(
    private readonly words: string[],
    private readonly random: () => number,
  ) {}

  phrase(minWords: number, maxWords: number): string {
    if (this.words.length === 0) return 'mock';
    const span = Math.min(this.words.length, minWords + Math.floor(this.random() * (maxWords - minWords + 1)));
    let text = '';
    for (let tries = 0; tries < 8; tries++) {
      const start = Math.floor(this.random() * (this.words.length - span + 1));
      text = this.words.slice(start, start + span).join(' ');
      if (!this.used.has(text.toLowerCase())) break;
    }
    this.used.add(text.toLowerCase());
    return text;
  }

  integer(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }
}
