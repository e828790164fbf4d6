/** FNV-1a: a plain string hash, enough to seed the PRNG (and no crypto module to load for it). */
function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** A small deterministic PRNG (mulberry32), seeded from a hash, so the same prompt gives the same reply. */
export function randomFrom(text: string): () => number {
  let state = hash32(text);
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

/** The sentences of a text, whitespace folded. */
export function sentencesOf(text: string): string[] {
  return (text.replace(/\s+/g, ' ').match(/[^.!?]+[.!?]+(?=\s|$)/g) ?? []).map((s) => s.trim()).filter((s) => s.split(' ').length >= 4);
}

/** Quotes contiguous runs of the prompt's words, never the same run twice while others remain. */
export class PhrasePicker {
  private readonly used = new Set<string>();
  private readonly words: string[];
  private readonly sentences: string[];
  constructor(
    text: string,
    private readonly random: () => number,
  ) {
    this.words = wordsOf(text);
    this.sentences = sentencesOf(text);
  }

  /** A whole sentence of the prompt, or a phrase when it has none. */
  sentence(): string {
    if (this.sentences.length === 0) return `${capitalize(this.phrase(6, 14))}.`;
    let text = '';
    for (let tries = 0; tries < 8; tries++) {
      text = this.sentences[Math.floor(this.random() * this.sentences.length)]!;
      if (!this.used.has(text.toLowerCase())) break;
    }
    this.used.add(text.toLowerCase());
    return text;
  }

  phrase(minWords: number, maxWords: number): string {
    if (this.words.length === 0) return 'mock';
    const span = Math.min(this.words.length, minWords + Math.floor(this.random() * (maxWords - minWords + 1)));
    let text = '';
    for (let tries = 0; tries < 8; tries++) {
      const start = Math.floor(this.random() * (this.words.length - span + 1));
      text = this.words.slice(start, start + span).join(' ').replace(/[.,;:!?]+$/, '');
      if (!this.used.has(text.toLowerCase())) break;
    }
    this.used.add(text.toLowerCase());
    return text;
  }

  integer(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
