import { hash32, seededRandom } from '../util/seeded-random.js';

/** Random numbers seeded from a text, so the same prompt gives the same reply. */
export function randomFrom(text: string): () => number {
  return seededRandom(hash32(text));
}

/** The words of a text, as a person would quote them (punctuation inside words kept). */
export function wordsOf(text: string): string[] {
  return text
    .split(/\s+/)
    .map((word) => word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}.,;:!?%)'"]+$/gu, ''))
    .filter((word) => /[\p{L}\p{N}]/u.test(word) && !word.includes('{') && !word.includes('}'));
}

/**
 * The sentences of a text, whitespace folded, each line on its own. A list marker (`- `, `2. `) or
 * a short label before a colon (`Heading: The point.`) is not part of the sentence after it, so a
 * prompt built from an outline yields the outline's sentences.
 */
export function sentencesOf(text: string): string[] {
  const sentences: string[] = [];
  for (const rawLine of text.split(/\n+/)) {
    let line = rawLine
      .replace(/\s+/g, ' ')
      .trim()
      .replace(/^(?:[-*•]|\d+[.)])\s+/, '');
    const label = /^([^.!?:]{1,80}):\s+(?=[\p{Lu}\p{N}"'])/u.exec(line);
    if (label && label[1]!.split(' ').length <= 12) line = line.slice(label[0].length);
    for (const match of line.match(/[^.!?]+[.!?]+(?=\s|$)/g) ?? []) {
      const sentence = match.trim();
      if (sentence.split(' ').length >= 4) sentences.push(sentence);
    }
  }
  return sentences;
}

/** Quotes contiguous runs of the prompt's words, never the same run twice while others remain. */
export class PhrasePicker {
  private readonly used = new Set<string>();
  private readonly usedLeads = new Set<string>();
  private readonly words: string[];
  private readonly sentences: string[];
  constructor(
    text: string,
    private readonly random: () => number,
  ) {
    this.words = wordsOf(text);
    this.sentences = sentencesOf(text);
  }

  /** A whole sentence of the prompt, not used before while others remain; a phrase when it has none. */
  sentence(): string {
    if (this.sentences.length === 0) return `${capitalize(this.phrase(6, 14))}.`;
    const index = this.sentenceIndex();
    return this.sentences[index >= 0 ? index : Math.floor(this.random() * this.sentences.length)]!;
  }

  /** `count` different sentences of the prompt, in the order the prompt has them: an extract. */
  extract(count: number): string[] {
    if (this.sentences.length === 0) return Array.from({ length: count }, () => this.sentence());
    const picked = new Set<number>();
    for (let i = 0; i < count; i++) {
      const index = this.sentenceIndex();
      if (index < 0) break;
      picked.add(index);
    }
    return [...picked].sort((a, b) => a - b).map((index) => this.sentences[index]!);
  }

  /**
   * A short heading: the opening words of a sentence of the prompt, up to its first comma. Never
   * the same twice: when every sentence's opening is taken, a phrase of the prompt.
   */
  lead(maxWords: number): string {
    for (let tries = 0; tries < 8 && this.sentences.length > 0; tries++) {
      const words = this.sentences[Math.floor(this.random() * this.sentences.length)]!.replace(/[.!?]+$/, '').split(' ');
      const comma = words.findIndex((word, i) => i >= 2 && word.endsWith(','));
      const lead = words
        .slice(0, comma >= 0 && comma < maxWords ? comma + 1 : maxWords)
        .join(' ')
        .replace(/[,;:]+$/, '');
      if (!this.usedLeads.has(lead.toLowerCase())) {
        this.usedLeads.add(lead.toLowerCase());
        return lead;
      }
    }
    return capitalize(this.phrase(3, maxWords));
  }

  /**
   * The index of an unused sentence: a random one, or the next unused after it, so that a reply
   * never says the same sentence twice while others remain (a model would not); -1 when all are used.
   */
  private sentenceIndex(): number {
    const count = this.sentences.length;
    const start = Math.floor(this.random() * count);
    for (let step = 0; step < count; step++) {
      const index = (start + step) % count;
      const key = this.sentences[index]!.toLowerCase();
      if (this.used.has(key)) continue;
      this.used.add(key);
      return index;
    }
    return -1;
  }

  phrase(minWords: number, maxWords: number): string {
    if (this.words.length === 0) return 'mock';
    const span = Math.min(this.words.length, minWords + Math.floor(this.random() * (maxWords - minWords + 1)));
    let text = '';
    for (let tries = 0; tries < 8; tries++) {
      const start = Math.floor(this.random() * (this.words.length - span + 1));
      text = this.words
        .slice(start, start + span)
        .join(' ')
        .replace(/[.,;:!?]+$/, '');
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
