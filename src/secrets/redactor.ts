/**
 * Blanking API keys out of text. Every task process loads this, so it depends on nothing.
 *
 * A key is replaced wherever it appears whole, and so is every piece of it at least
 * MIN_FRAGMENT_LENGTH characters long: what is left of a key when a text was cut through it (a
 * server's truncated error message, a preview). The replacement names the variable the key came
 * from, `[redacted:OPENAI_API_KEY]`, so a reader sees that something was taken out, and what.
 */

export interface Secret {
  /** The variable the value came from; the marker names it. */
  name: string;
  value: string;
}

/** Shorter values are placeholders (`ollama`, `none`), not secrets; blanking them would garble text. */
export const MIN_SECRET_LENGTH = 8;

/**
 * Pieces of a key this long are blanked too. Twelve characters of a random key are about 70 bits,
 * so a piece this long never turns up by chance in other text, while a shorter leftover gives too
 * little away to matter.
 */
export const MIN_FRAGMENT_LENGTH = 12;

const HALF = MIN_FRAGMENT_LENGTH / 2;

export const redactionMarker = (name: string): string => `[redacted:${name}]`;

export interface Redaction {
  text: string;
  /** The variables whose keys (or pieces of them) were taken out. */
  names: string[];
}

/**
 * Characters a piece may be made of. Quotes, backslashes, whitespace and control characters are
 * left out, so replacing a piece inside a JSON text never breaks an escape and the text stays JSON.
 */
const PIECE_CHAR = /^[^"\\\s\p{Cc}]$/u;

export class Redactor {
  /** Longest first, so a key that contains another is named as itself. */
  private readonly secrets: Secret[];
  private readonly pieces = new Map<string, string>();
  /** Every half-piece of a key: a quick test that a run of text may hold a piece at all. */
  private readonly halves = new Set<string>();
  /** Runs of characters that occur in keys, long enough to hold a piece: the only places to look. */
  private readonly runs: RegExp | undefined;

  /** How many keys it takes out. */
  get size(): number {
    return this.secrets.length;
  }

  constructor(secrets: Iterable<Secret>) {
    const byValue = new Map<string, string>();
    for (const { name, value } of secrets) if (value.length >= MIN_SECRET_LENGTH && !byValue.has(value)) byValue.set(value, name);
    this.secrets = [...byValue].map(([value, name]) => ({ name, value })).sort((a, b) => b.value.length - a.value.length);
    const chars = new Set<string>();
    for (const { name, value } of this.secrets) {
      for (let start = 0; start + MIN_FRAGMENT_LENGTH <= value.length; start++) {
        const piece = value.slice(start, start + MIN_FRAGMENT_LENGTH);
        if (!this.pieces.has(piece)) this.pieces.set(piece, name);
      }
      for (let start = 0; value.length >= MIN_FRAGMENT_LENGTH && start + HALF <= value.length; start++) this.halves.add(value.slice(start, start + HALF));
      if (value.length >= MIN_FRAGMENT_LENGTH) for (const char of value) if (PIECE_CHAR.test(char)) chars.add(char);
    }
    this.runs = chars.size ? new RegExp(`[${[...chars].map(escapeInClass).join('')}]{${MIN_FRAGMENT_LENGTH},}`, 'g') : undefined;
  }

  get empty(): boolean {
    return this.secrets.length === 0;
  }

  redact(text: string): Redaction {
    if (this.secrets.length === 0 || text.length < MIN_SECRET_LENGTH) return { text, names: [] };
    const names = new Set<string>();
    let clean = text;
    for (const { name, value } of this.secrets) {
      if (!clean.includes(value)) continue;
      clean = clean.split(value).join(redactionMarker(name));
      names.add(name);
    }
    if (this.runs) clean = clean.replace(this.runs, (run) => this.redactRun(run, names));
    return { text: clean, names: [...names] };
  }

  /**
   * JSON text of `value` with every string (and property name) redacted; `space` as for
   * JSON.stringify. The names of what was taken out are added to `names`.
   */
  stringify(value: unknown, space: number | undefined, names: Set<string>): string {
    if (this.secrets.length === 0) return JSON.stringify(value, null, space) ?? 'null';
    const clean = (text: string) => {
      const redaction = this.redact(text);
      for (const name of redaction.names) names.add(name);
      return redaction.text;
    };
    const replacer = (_key: string, inner: unknown): unknown => {
      if (typeof inner === 'string') return clean(inner);
      if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
      const entries = Object.entries(inner);
      if (!entries.some(([key]) => clean(key) !== key)) return inner;
      return Object.fromEntries(entries.map(([key, value]) => [clean(key), value]));
    };
    return JSON.stringify(value, replacer, space) ?? 'null';
  }

  /**
   * Any MIN_FRAGMENT_LENGTH characters contain a whole block of HALF characters starting at a
   * multiple of HALF: if no such block of the run is part of a key, the run holds no piece. This
   * looks at one position in HALF instead of every one, for long texts without keys.
   */
  private mayHoldPiece(run: string): boolean {
    for (let block = 0; block + HALF <= run.length; block += HALF) if (this.halves.has(run.slice(block, block + HALF))) return true;
    return false;
  }

  /** Replace each stretch of `run` made of overlapping key pieces with one marker. */
  private redactRun(run: string, names: Set<string>): string {
    if (!this.mayHoldPiece(run)) return run;
    let clean = '';
    let copied = 0;
    let start = 0;
    while (start + MIN_FRAGMENT_LENGTH <= run.length) {
      const name = this.pieces.get(run.slice(start, start + MIN_FRAGMENT_LENGTH));
      if (!name) {
        start++;
        continue;
      }
      let end = start + MIN_FRAGMENT_LENGTH;
      while (end < run.length && this.pieces.has(run.slice(end + 1 - MIN_FRAGMENT_LENGTH, end + 1))) end++;
      clean += run.slice(copied, start) + redactionMarker(name);
      names.add(name);
      copied = end;
      start = end;
    }
    return copied === 0 ? run : clean + run.slice(copied);
  }
}

function escapeInClass(char: string): string {
  return /[\][\\^-]/.test(char) ? `\\${char}` : char;
}
