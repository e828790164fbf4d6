import { readFile, unlink } from 'node:fs/promises';
import { createNewFile } from './create-new-file.js';
import { LockSchema, type Lock } from '../formats/lock.js';
import { err, ok, type Result } from '../result.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface HeldLock {
  path: string;
  release: () => Promise<void>;
}

/**
 * Take a lock file so that of two processes racing exactly one wins. A lock whose holder
 * is gone (killed, crashed) is stale and taken over.
 */
export async function acquireLock(path: string, command: string): Promise<Result<HeldLock, Lock>> {
  for (let tries = 0; tries < 3; tries++) {
    // Never half written (a reader would take it for stale), and not taken if already held.
    const lock: Lock = { pid: process.pid, command, acquiredAt: new Date().toISOString() };
    if (await createNewFile([path], JSON.stringify(lock))) return ok({ path, release: () => unlink(path).catch(() => {}) });
    const holder = await readLock(path);
    if (holder && holder.pid !== process.pid && isAlive(holder.pid)) return err(holder);
    if (holder?.pid === process.pid) return err(holder);
    // Stale, or torn by a crash between create and write: remove and try again.
    await unlink(path).catch(() => {});
  }
  const holder = await readLock(path);
  return err(holder ?? { pid: 0, command: 'unknown', acquiredAt: '' });
}

/** The live holder of a lock, if any. */
export async function lockHolder(path: string): Promise<Lock | undefined> {
  const holder = await readLock(path);
  return holder && isAlive(holder.pid) ? holder : undefined;
}

async function readLock(path: string): Promise<Lock | undefined> {
  try {
    const parsed = LockSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
