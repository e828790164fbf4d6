/**
 * How deep a seed may nest arrays and objects. JSON.parse of a 10 MB file nested millions deep
 * blocks the manager for seconds and takes hundreds of MB; no real seed needs more than a few
 * dozen levels.
 */
export const MAX_JSON_DEPTH = 512;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

/**
 * Where JSON text first nests deeper than `limit`, found by one pass over the bytes (strings
 * skipped), cheap enough to run before JSON.parse; undefined when it never does. Says nothing about
 * whether the text is valid JSON.
 */
export function tooDeepAt(bytes: Uint8Array, limit = MAX_JSON_DEPTH): { line: number; column: number } | undefined {
  let depth = 0;
  let inString = false;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === NEWLINE) {
      line++;
      lineStart = i + 1;
    } else if (inString) {
      // Straight to the string's closing quote (a native search: a 30 MB string takes milliseconds).
      // JSON strings hold no raw newline, so none is skipped in valid JSON.
      let quote = bytes.indexOf(QUOTE, i);
      while (quote !== -1 && escaped(bytes, quote)) quote = bytes.indexOf(QUOTE, quote + 1);
      if (quote === -1) return undefined;
      i = quote;
      inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > limit) return { line, column: i - lineStart + 1 };
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth--;
  }
  return undefined;
}

/** Whether the quote at `at` is escaped: an odd number of backslashes before it. */
function escaped(bytes: Uint8Array, at: number): boolean {
  let backslashes = 0;
  for (let j = at - 1; j >= 0 && bytes[j] === BACKSLASH; j--) backslashes++;
  return backslashes % 2 === 1;
}

/** A UTF-8 byte-order mark, which some editors put first; JSON.parse does not accept it. */
export function withoutByteOrderMark(bytes: Buffer): Buffer {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
}
