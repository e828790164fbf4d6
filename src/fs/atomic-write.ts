import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { stringifyRedacted } from '../secrets/known-secrets.js';

/** Temp files live beside their target (same file system, so rename is atomic) and are hidden. */
export const TEMP_SUFFIX = '.tmp';

let written = 0;

/** Unique per process and call; no crypto, which the task process would otherwise load just for this. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${(++written).toString(36)}-${Date.now().toString(36)}${TEMP_SUFFIX}`);
}

/**
 * Write a whole file so that a reader (or a restart after a crash) sees either the old content or
 * the new, never a torn mix: temp file in the same folder, fsync, rename.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = tempPathFor(path);
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => {});
    throw error;
  }
  await handle.close();
  await rename(temp, path);
}

/** JSON state and results, with any API key in them taken out (src/secrets/). */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, `${stringifyRedacted(value, 2).text}\n`);
}
