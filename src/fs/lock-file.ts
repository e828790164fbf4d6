import { createHash } from 'node:crypto';
import { realpath, unlink } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { createNewFile } from './create-new-file.js';
import { isProcessRunning } from './process-running.js';
import { readRegularFileAt } from './read-regular-file.js';
import { LockSchema, type Lock } from '../formats/lock.js';
import { err, messageOf, ok, type Result } from '../result.js';

export interface HeldLock {
  path: string;
  release: () => Promise<void>;
}

export type LockError =
  /** Another live process holds it. */
  | { reason: 'held'; holder: Lock }
  /** The lock could not be taken at all (disk full, folder missing): try again later. */
  | { reason: 'io-error'; message: string };

const UNKNOWN_HOLDER: Lock = { pid: 0, command: 'unknown', acquiredAt: '' };

/**
 * Take a lock so that of any number of processes racing for it exactly one wins, and a lock whose
 * holder is gone (killed, crashed, a zombie not yet reaped) is free again.
 *
 * On Linux the lock itself is an abstract Unix socket named after the lock file's path: binding it
 * is atomic, and the kernel releases it the moment its holder's descriptors close (before the
 * process is even reaped), so there is no stale lock to judge and remove. The file beside it only
 * says who holds it (pid, command, since when) for `status` and for error messages.
 * Elsewhere the file is the lock, as a pid file.
 */
export async function acquireLock(path: string, command: string): Promise<Result<HeldLock, LockError>> {
  const lock: Lock = { pid: process.pid, command, acquiredAt: new Date().toISOString() };
  if (process.platform !== 'linux') return acquirePidFile(path, lock);
  let name: string;
  try {
    name = await socketName(path);
  } catch (error) {
    return err({ reason: 'io-error', message: `${path}: ${messageOf(error)}` });
  }
  const server = await bind(name);
  if (!server) return err({ reason: 'held', holder: await describedHolder(path) });
  try {
    // Replaces whatever a dead holder left there: only the socket's holder writes this file.
    await writeFileAtomic(path, JSON.stringify(lock));
  } catch (error) {
    await closeServer(server);
    return err({ reason: 'io-error', message: `${path}: ${messageOf(error)}` });
  }
  return ok({
    path,
    // The file first: once the socket is closed the next holder may already be writing it.
    release: async () => {
      await unlink(path).catch(() => {});
      await closeServer(server);
    },
  });
}

/** The live holder of a lock, if any. */
export async function lockHolder(path: string): Promise<Lock | undefined> {
  if (process.platform !== 'linux') {
    const holder = await readLock(path);
    return holder && isProcessRunning(holder.pid) ? holder : undefined;
  }
  const name = await socketName(path).catch(() => undefined);
  if (!name || !(await isBound(name))) return undefined;
  return describedHolder(path);
}

/** Abstract socket names are machine-wide: the lock file's real path makes them one per lock. */
async function socketName(path: string): Promise<string> {
  const real = join(await realpath(dirname(resolve(path))), basename(path));
  return `\0pop-lock-${createHash('sha256').update(real).digest('hex')}`;
}

function bind(name: string): Promise<Server | undefined> {
  return new Promise((done, fail) => {
    // Anyone who connects (lockHolder asking whether it is held) is hung up on at once.
    const server = createServer((socket) => socket.destroy());
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? done(undefined) : fail(error)));
    server.listen(name, () => {
      // A lock must not keep a process alive that has nothing else to do.
      server.unref();
      done(server);
    });
  });
}

function isBound(name: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(name);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((done) => server.close(() => done()));
}

/**
 * Who holds a lock that is held: its file, which the holder writes just after binding, so it may
 * take a moment to appear (or still be a dead holder's).
 */
async function describedHolder(path: string): Promise<Lock> {
  for (let tries = 0; tries < 20; tries++) {
    const holder = await readLock(path);
    if (holder && isProcessRunning(holder.pid)) return holder;
    await new Promise((done) => setTimeout(done, 10));
  }
  return UNKNOWN_HOLDER;
}

/** Without abstract sockets: a pid file, created only under a free name; a dead holder's is removed. */
async function acquirePidFile(path: string, lock: Lock): Promise<Result<HeldLock, LockError>> {
  try {
    for (let tries = 0; tries < 3; tries++) {
      if (await createNewFile([path], JSON.stringify(lock))) return ok({ path, release: () => unlink(path).catch(() => {}) });
      const holder = await readLock(path);
      if (holder && (holder.pid === process.pid || isProcessRunning(holder.pid))) return err({ reason: 'held', holder });
      await unlink(path).catch(() => {});
    }
  } catch (error) {
    return err({ reason: 'io-error', message: `${path}: ${messageOf(error)}` });
  }
  return err({ reason: 'held', holder: (await readLock(path)) ?? UNKNOWN_HOLDER });
}

async function readLock(path: string): Promise<Lock | undefined> {
  try {
    // Never a blocking open: whatever stands under the name, it is only described, not trusted.
    const read = await readRegularFileAt(path);
    if (!read.ok) return undefined;
    const parsed = LockSchema.safeParse(JSON.parse(read.value.bytes.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
