import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { stringifyRedacted } from '../secrets/known-secrets.js';
import { truncateUtf8 } from './file-name.js';

/** Temp files live beside their target (same file system, so rename is atomic) and are hidden. */
export const TEMP_SUFFIX = '.tmp';

let written = 0;

/** How much of the target's name a temp name keeps: enough to tell whose it is, short enough to always fit. */
const TEMP_NAME_KEEP_BYTES = 40;

/**
 * Unique per process and call; no crypto, which the task process would otherwise load just for this.
 * Short whatever the target's name: a temp name longer than the file system's limit would fail a
 * write whose target name fits.
 */
export function tempPathFor(path: string): string {
  const unique = `${process.pid.toString(36)}-${(++written).toString(36)}-${Date.now().toString(36)}`;
  return join(dirname(path), `.${truncateUtf8(basename(path), TEMP_NAME_KEEP_BYTES)}.${unique}${TEMP_SUFFIX}`);
}

/**
 * Make a folder's entries (a file created, renamed in or out) survive a power cut: fsync the folder
 * itself. Where a folder cannot be opened or synced (not Linux), it is skipped.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}

/** Write a new file and fsync it (not its folder): for files a later folder rename or fsync commits. */
export async function writeFileSynced(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Write a whole file so that a reader (or a restart after a crash) sees either the old content or
 * the new, never a torn mix, and the new once it returns, power cut or not: temp file in the same
 * folder, fsync, rename, fsync of the folder.
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
  await syncDirectory(dirname(path));
}

/** JSON state and results, with any API key in them taken out (src/secrets/). */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, `${stringifyRedacted(value, 2).text}\n`);
}
