import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lstat, link, realpath, rename, unlink } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { tempPathFor, writeFileAtomic } from './atomic-write.js';
import { createNewFile } from './create-new-file.js';
import { isProcessRunning } from './process-running.js';
import { readRegularFileAt } from './read-regular-file.js';
import { LockSchema, type Lock } from '../formats/lock.js';
import { err, messageOf, ok, type Result } from '../result.js';

export interface HeldLock {
  path: string;
  /** The holder on another host whose heartbeat had stopped, when this lock was taken over from it. */
  tookOver?: Lock | undefined;
  release: () => Promise<void>;
}

export type LockError =
  /** Another live process holds it. */
  | { reason: 'held'; holder: Lock }
  /** The lock could not be taken at all (disk full, folder missing): try again later. */
  | { reason: 'io-error'; message: string };

export interface LockOptions {
  /** Told when another host took the lock over (this process's heartbeat had stopped for too long). */
  onLost?: ((by: Lock | undefined) => void) | undefined;
}

const UNKNOWN_HOLDER: Lock = { pid: 0, command: 'unknown', acquiredAt: '' };

/** A holder on another host is alive while its heartbeat is younger than this (POP_LOCK_STALE_MS; default 30 s). */
export function lockStaleMs(): number {
  const set = Number(process.env.POP_LOCK_STALE_MS);
  return Number.isInteger(set) && set >= 1000 ? set : 30_000;
}
/** Several heartbeats fit in the limit: one delayed by a busy machine or a slow file server does not lose the lock. */
const heartbeatMs = () => Math.max(200, Math.round(lockStaleMs() / 6));

/** This host's boot, so a lock left from before a reboot is told apart (Linux). */
function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Take a lock so that of any number of processes racing for it exactly one wins, on this host or
 * on others sharing the folder, and a lock whose holder is gone is free again.
 *
 * On this host, the lock is an abstract Unix socket named after the lock file's path (Linux): binding
 * it is atomic and the kernel releases it the moment its holder's descriptors close, so a local
 * holder's death is known at once. Sockets are per host, so the file is the lock between hosts: it is
 * created only under a free name (an exclusive link), records host, pid, boot id and a heartbeat the
 * holder renews every few seconds. A contender on another host treats it as held until the
 * heartbeat is older than the limit, then takes it over (`tookOver` says from whom). Clocks of the
 * hosts must agree to well within that limit. Elsewhere than Linux the file is a pid file.
 */
export async function acquireLock(path: string, command: string, options: LockOptions = {}): Promise<Result<HeldLock, LockError>> {
  const now = new Date().toISOString();
  const lock: Lock = { pid: process.pid, command, acquiredAt: now, host: hostname(), heartbeatAt: now, ...(bootId() ? { bootId: bootId() } : {}) };
  if (process.platform !== 'linux') return acquirePidFile(path, lock);
  let name: string;
  let server: Server | undefined;
  try {
    name = await socketName(path);
    server = await bind(name);
  } catch (error) {
    return err({ reason: 'io-error', message: `${path}: ${messageOf(error)}` });
  }
  if (!server) return err({ reason: 'held', holder: await describedHolder(path) });
  let claimed: Result<Lock | undefined, LockError>;
  try {
    claimed = await claimFile(path, lock);
  } catch (error) {
    claimed = err({ reason: 'io-error', message: `${path}: ${messageOf(error)}` });
  }
  if (!claimed.ok) {
    await closeServer(server);
    return claimed;
  }
  const heartbeat = setInterval(() => void beat(), heartbeatMs());
  heartbeat.unref();
  const beat = async () => {
    const current = await readLock(path);
    if (!current || !isSameHolder(current, lock)) {
      clearInterval(heartbeat);
      options.onLost?.(current);
      return;
    }
    // A missed beat (a full disk, a slow server) is made up by the next.
    await writeFileAtomic(path, JSON.stringify({ ...lock, heartbeatAt: new Date().toISOString() })).catch(() => {});
  };
  const held = server;
  return ok({
    path,
    tookOver: claimed.value,
    // The file first: once the socket is closed the next holder may already be writing it.
    release: async () => {
      clearInterval(heartbeat);
      const current = await readLock(path);
      if (current && isSameHolder(current, lock)) await unlink(path).catch(() => {});
      await closeServer(held);
    },
  });
}

/** The live holder of a lock, if any: on this host by its socket, on another by its heartbeat. */
export async function lockHolder(path: string): Promise<Lock | undefined> {
  if (process.platform !== 'linux') {
    const holder = await readLock(path);
    return holder && isProcessRunning(holder.pid) ? holder : undefined;
  }
  const name = await socketName(path).catch(() => undefined);
  if (name && (await isBound(name))) return describedHolder(path);
  const holder = await readLock(path);
  return holder && isElsewhere(holder) && isFresh(holder) ? holder : undefined;
}

const isElsewhere = (holder: Lock) => holder.host !== undefined && holder.host !== hostname();
const isFresh = (holder: Lock) => Date.now() - Date.parse(holder.heartbeatAt ?? holder.acquiredAt) < lockStaleMs();
const isSameHolder = (a: Lock, b: Lock) => a.pid === b.pid && a.host === b.host && a.acquiredAt === b.acquiredAt;

/**
 * With this host's socket held: make the file ours. A file left by a holder on this host is a dead
 * one's (the socket was free); one from another host is taken over only once its heartbeat is stale.
 * The old file is moved aside first, so of two hosts taking over at once only one moves it, and the
 * new one is created by an exclusive link, so only one creates it.
 */
async function claimFile(path: string, lock: Lock): Promise<Result<Lock | undefined, LockError>> {
  let tookOver: Lock | undefined;
  for (let tries = 0; tries < 5; tries++) {
    if (await createNewFile([path], JSON.stringify(lock))) return ok(tookOver);
    const current = await readLock(path);
    if (current && isElsewhere(current) && isFresh(current)) return err({ reason: 'held', holder: current });
    if (!current && (await isYoung(path))) return err({ reason: 'held', holder: UNKNOWN_HOLDER });
    if (current && isElsewhere(current)) tookOver = current;
    const aside = `${tempPathFor(path)}.stale`;
    try {
      await rename(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = await readLock(aside);
    if (current && moved && moved.heartbeatAt !== current.heartbeatAt) {
      // Renewed (or taken by someone else) between the look and the move: it goes back, and is looked at again.
      await link(aside, path).catch(() => {});
      tookOver = undefined;
    }
    await unlink(aside).catch(() => {});
  }
  return err({ reason: 'held', holder: (await readLock(path)) ?? UNKNOWN_HOLDER });
}

/** A lock file that cannot be read: a holder's still being written (young), or garbage (old). */
async function isYoung(path: string): Promise<boolean> {
  const stat = await lstat(path).catch(() => undefined);
  return stat !== undefined && Date.now() - stat.mtimeMs < lockStaleMs();
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
 * Who holds a lock that is held on this host: its file, which the holder writes just after binding,
 * so it may take a moment to appear (or still be a dead holder's).
 */
async function describedHolder(path: string): Promise<Lock> {
  for (let tries = 0; tries < 20; tries++) {
    const holder = await readLock(path);
    if (holder && !isElsewhere(holder) && isProcessRunning(holder.pid)) return holder;
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
