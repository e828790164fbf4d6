import { createHash } from 'node:crypto';
import { lstat, open } from 'node:fs/promises';
import type { z } from 'zod';
import { MAX_SEED_BYTES } from '../../formats/seed.js';
import type { SeedRejectionReason } from '../../formats/seed-rejection.js';
import { describeZodError } from '../../formats/describe-error.js';

export type SeedCheck =
  | { kind: 'ready'; bytes: Buffer; sha256: string; size: number; mtimeMs: number }
  /** Not parseable yet: may still be being written, so it is retried when it changes. */
  | { kind: 'not-yet'; reason: 'not-json' | 'empty'; message: string; where?: string; size: number; mtimeMs: number }
  | { kind: 'reject'; reason: SeedRejectionReason; message: string; where?: string }
  | { kind: 'gone' };

/** Look at a pending file and say whether it is a seed that can be claimed now. */
export async function inspectSeed(path: string, seedSchema: z.ZodType | undefined): Promise<SeedCheck> {
  let stats;
  try {
    stats = await lstat(path);
  } catch {
    return { kind: 'gone' };
  }
  if (stats.isSymbolicLink()) return { kind: 'reject', reason: 'not-a-file', message: 'is a symbolic link; drop the file itself (a link could change under the run)' };
  if (!stats.isFile()) return { kind: 'reject', reason: 'not-a-file', message: `is a ${stats.isDirectory() ? 'directory' : 'special file'}, not a JSON file` };
  if (stats.size > MAX_SEED_BYTES) {
    return { kind: 'reject', reason: 'too-large', message: `is ${stats.size} bytes; a seed may be at most ${MAX_SEED_BYTES} bytes (10 MB)` };
  }
  let bytes: Buffer;
  let after;
  try {
    // One handle, and its size and mtime taken after the read: they describe exactly these bytes.
    const handle = await open(path, 'r');
    try {
      bytes = await handle.readFile();
      after = await handle.stat();
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'gone' };
    return { kind: 'reject', reason: 'unreadable', message: `cannot be read (${code ?? String(error)})` };
  }
  const base = { size: bytes.length, mtimeMs: after.mtimeMs };
  // Written to while read: look again when its writer is done.
  if (after.size !== bytes.length) return { kind: 'not-yet', reason: 'not-json', message: 'is still being written', ...base };
  const text = bytes.toString('utf8');
  if (text.trim() === '') return { kind: 'not-yet', reason: 'empty', message: 'is empty', ...base };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const where = positionOf((error as Error).message, text);
    return { kind: 'not-yet', reason: 'not-json', message: `is not valid JSON: ${(error as Error).message}`, ...(where ? { where } : {}), ...base };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    const what = data === null ? 'null' : Array.isArray(data) ? 'an array' : `a ${typeof data}`;
    return { kind: 'reject', reason: 'not-an-object', message: `is ${what}; a seed must be a JSON object ({ ... })` };
  }
  if (seedSchema) {
    const parsed = seedSchema.safeParse(data);
    if (!parsed.success) {
      return { kind: 'reject', reason: 'seed-schema', message: `does not match the registry's seedSchema: ${describeZodError(parsed.error)}` };
    }
  }
  return { kind: 'ready', bytes, sha256: createHash('sha256').update(bytes).digest('hex'), ...base };
}

/** `line 3, column 14` from a JSON.parse message that gives a character position. */
function positionOf(message: string, text: string): string | undefined {
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) return `line ${lineColumn[1]}, column ${lineColumn[2]}`;
  const position = /position (\d+)/.exec(message);
  if (!position) return message.includes('end of JSON') ? 'end of file' : undefined;
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  return `line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
}
