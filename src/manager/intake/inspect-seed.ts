import { createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { readRegularFile } from '../../fs/read-regular-file.js';
import { MAX_JSON_DEPTH, tooDeepAt, withoutByteOrderMark } from '../../formats/json-depth.js';
import type { z } from 'zod';
import { MAX_SEED_BYTES } from '../../formats/seed.js';
import type { SeedRejectionReason } from '../../formats/seed-rejection.js';
import { describeZodError, schemaIssues } from '../../formats/describe-error.js';
import { firstJsonErrorAt } from '../../formats/parse-jsonc.js';

export type SeedCheck =
  | { kind: 'ready'; bytes: Buffer; sha256: string; size: number; mtimeMs: number; ino: number; dev: number }
  /** Not parseable yet: may still be being written (or was replaced while read), so it is looked at again when it changes. */
  | { kind: 'not-yet'; reason: 'not-json' | 'empty' | 'changing'; message: string; where?: string }
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
  if (stats.isSymbolicLink())
    return { kind: 'reject', reason: 'not-a-file', message: 'is a symbolic link; drop the file itself (a link could change under the run)' };
  if (!stats.isFile()) return { kind: 'reject', reason: 'not-a-file', message: `is a ${stats.isDirectory() ? 'directory' : 'special file'}, not a JSON file` };
  if (stats.size > MAX_SEED_BYTES) return tooLarge(stats.size);
  const read = await readRegularFile(path, stats);
  if (!read.ok) {
    switch (read.error.reason) {
      case 'gone':
        return { kind: 'gone' };
      case 'changed':
        return { kind: 'not-yet', reason: 'changing', message: 'was replaced while it was being read' };
      case 'unreadable':
        return { kind: 'reject', reason: 'unreadable', message: `cannot be read (${read.error.code})` };
    }
  }
  const { bytes, stats: after } = read.value;
  const base = { size: bytes.length, mtimeMs: after.mtimeMs };
  if (bytes.length > MAX_SEED_BYTES) return tooLarge(bytes.length);
  // Written to while read: look again when its writer is done.
  if (after.size !== bytes.length) return { kind: 'not-yet', reason: 'not-json', message: 'is still being written' };
  const json = withoutByteOrderMark(bytes);
  // Before JSON.parse, which would block the manager for seconds on a file nested millions deep.
  const deep = tooDeepAt(json);
  if (deep) {
    return {
      kind: 'reject',
      reason: 'too-deep',
      message: `nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; a seed may nest at most ${MAX_JSON_DEPTH}`,
      where: `line ${deep.line}, column ${deep.column}`,
    };
  }
  const text = json.toString('utf8');
  if (text.trim() === '') return { kind: 'not-yet', reason: 'empty', message: 'is empty' };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const where = positionOf((error as Error).message, text);
    return { kind: 'not-yet', reason: 'not-json', message: `is not valid JSON: ${(error as Error).message}`, ...(where ? { where } : {}) };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    const what = data === null ? 'null' : Array.isArray(data) ? 'an array' : `a ${typeof data}`;
    return { kind: 'reject', reason: 'not-an-object', message: `is ${what}; a seed must be a JSON object ({ ... })` };
  }
  if (seedSchema) {
    const parsed = seedSchema.safeParse(data);
    if (!parsed.success) {
      const where = [...new Set(schemaIssues(parsed.error).map((issue) => issue.path || '(top level)'))].join(', ');
      return { kind: 'reject', reason: 'seed-schema', message: `does not match the registry's seedSchema: ${describeZodError(parsed.error)}`, where };
    }
  }
  return { kind: 'ready', bytes, sha256: createHash('sha256').update(bytes).digest('hex'), ...base, ino: after.ino, dev: after.dev };
}

function tooLarge(size: number): SeedCheck {
  return { kind: 'reject', reason: 'too-large', message: `is ${size} bytes; a seed may be at most ${MAX_SEED_BYTES} bytes (10 MB)` };
}

/** `line 3, column 14` from a JSON.parse message that gives a character position. */
function positionOf(message: string, text: string): string | undefined {
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) return `line ${lineColumn[1]}, column ${lineColumn[2]}`;
  const position = /position (\d+)/.exec(message);
  if (!position && message.includes('end of JSON')) return 'end of file';
  // Some of V8's messages quote the text instead of giving the position: a JSON parser finds it.
  const offset = position ? Number(position[1]) : firstJsonErrorAt(text);
  if (offset === undefined) return undefined;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
}
