import { createHash } from 'node:crypto';

/** The longest file name Linux and most file systems take, in bytes (NAME_MAX). */
export const NAME_MAX_BYTES = 255;

/** At most `maxBytes` of UTF-8, cut between characters, never inside one. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

/**
 * `stem + suffix` when it fits in a file name; otherwise the start of the stem, `~`, and 8 hex
 * characters of the whole stem's hash, so two long names that differ only at the end stay apart.
 */
export function fitName(stem: string, suffix: string): string {
  const name = `${stem}${suffix}`;
  if (Buffer.byteLength(name) <= NAME_MAX_BYTES) return name;
  const hash = createHash('sha256').update(stem).digest('hex').slice(0, 8);
  return `${truncateUtf8(stem, NAME_MAX_BYTES - Buffer.byteLength(suffix) - hash.length - 1)}~${hash}${suffix}`;
}
