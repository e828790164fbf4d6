import { open } from 'node:fs/promises';
import type { z } from 'zod';
import { parsePipelineText } from '../../formats/parse-jsonc.js';

/** Files the view reads are capped: a runaway log must not take the server's memory. */
export const MAX_READ_BYTES = 4 * 1024 * 1024;

/** The text of a file, or undefined when it is missing or unreadable; only its first MAX_READ_BYTES are read. */
export async function readText(path: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
    const buffer = Buffer.alloc(Math.min(MAX_READ_BYTES, Math.max(0, (await handle.stat()).size)));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled).toString('utf8');
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/** JSON that may carry comments and trailing commas (pipeline.json may be JSONC), parsed as the CLI parses it. */
export function parseJsonc(text: string): unknown {
  const parsed = parsePipelineText(text.replace(/^\uFEFF/, ''));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
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
