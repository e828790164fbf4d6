import { readFile } from 'node:fs/promises';
import type { z } from 'zod';

/** Files the view reads whole are capped: a runaway log must not take the server's memory. */
export const MAX_READ_BYTES = 4 * 1024 * 1024;

/** The text of a file, or undefined when it is missing or unreadable; cut at MAX_READ_BYTES. */
export async function readText(path: string): Promise<string | undefined> {
  try {
    const bytes = await readFile(path);
    return bytes.subarray(0, MAX_READ_BYTES).toString('utf8');
  } catch {
    return undefined;
  }
}

/** JSON that may carry comments (pipeline.json may be JSONC): strings are kept, comments dropped. */
export function parseJsonc(text: string): unknown {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (char === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (char === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2);
      if (i < 0) break;
      i++;
    } else if (char === ',' && /^\s*[}\]]/.test(text.slice(i + 1, i + 200))) {
      // a trailing comma, which JSONC allows
    } else out += char;
  }
  return JSON.parse(out);
}

/** A file read and checked against a lenient schema; undefined when missing or not JSON. */
export async function readLoose<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S> | undefined> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  try {
    const parsed = schema.safeParse(parseJsonc(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
