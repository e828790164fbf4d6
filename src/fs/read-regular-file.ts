import { constants, type Stats } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { err, ok, type Result } from '../result.js';

export type ReadRegularFileError =
  | { reason: 'gone' }
  /** Not the regular file expected any more: replaced (by a FIFO, a link, another file) since it was looked at. */
  | { reason: 'changed' }
  | { reason: 'unreadable'; code: string };

/**
 * Read a file only if it is the regular file `expected` (from an earlier lstat) names. It is opened
 * without following a link and without blocking, because a FIFO swapped in under the name would
 * otherwise hang the open (and a libuv thread with it) until something writes to it; then the open
 * descriptor is checked, and the bytes come from that descriptor, never from the name again.
 * The stats returned are taken after the read, so they describe exactly these bytes.
 */
export async function readRegularFile(
  path: string,
  expected: Pick<Stats, 'ino' | 'dev'>,
): Promise<Result<{ bytes: Buffer; stats: Stats }, ReadRegularFileError>> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    if (code === 'ENOENT') return err({ reason: 'gone' });
    // ELOOP: a symbolic link now stands where the file was.
    if (code === 'ELOOP') return err({ reason: 'changed' });
    return err({ reason: 'unreadable', code });
  }
  try {
    const before = await handle.stat();
    if (!before.isFile() || before.ino !== expected.ino || before.dev !== expected.dev) return err({ reason: 'changed' });
    const bytes = await handle.readFile();
    return ok({ bytes, stats: await handle.stat() });
  } catch (error) {
    return err({ reason: 'unreadable', code: (error as NodeJS.ErrnoException).code ?? String(error) });
  } finally {
    await handle.close();
  }
}

/** The same, for a path not looked at before: anything but a regular file there counts as changed. */
export async function readRegularFileAt(path: string): Promise<Result<{ bytes: Buffer; stats: Stats }, ReadRegularFileError>> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return code === 'ENOENT' ? err({ reason: 'gone' }) : err({ reason: 'unreadable', code });
  }
  if (!stats.isFile()) return err({ reason: 'changed' });
  return readRegularFile(path, stats);
}
