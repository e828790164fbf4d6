import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Lock } from '../formats/lock.js';
import { isProcessRunning } from '../fs/process-running.js';
import { lockStaleMs } from '../fs/lock-file.js';
import { err, ok, type Result } from '../result.js';

/** Who holds a workspace's lease: what `status`-like messages show, and the token that proves it. */
export interface LeaseHolder {
  /** host:pid */
  holder: string;
  command: string;
  token: number;
  nonce: string;
}

const leaseKey = (queueName: string) => `${queueName}:manager-lease`;
const tokenKey = (queueName: string) => `${queueName}:manager-token`;

/** Renew (or delete) only a lease that is still this holder's: the value is compared inside Redis. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const REPLACE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) else return false end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * With `start --queue`, the manager's lock is also a lease in Redis: `SET NX PX` under the
 * workspace's queue name, with a fencing token (a counter only ever incremented) the holder renews
 * a few times per lease. Redis's own clock judges its expiry, so hosts' clocks play no part. A lease
 * Redis forgot (a restart without persistence) is taken again at the next renewal if nobody else
 * has taken it; a lease someone else holds now means this manager must stop (`onLost`).
 */
export class ManagerLease {
  private timer: NodeJS.Timeout | undefined;
  /** While Redis is away a renewal waits for it; the next is not stacked on top. */
  private renewing = false;

  private constructor(
    private readonly redis: Redis,
    private readonly queueName: string,
    private readonly value: string,
    private readonly onLost: (by: LeaseHolder | undefined) => void,
  ) {}

  static async take(
    redis: Redis,
    queueName: string,
    holder: { holder: string; command: string },
    onLost: (by: LeaseHolder | undefined) => void,
  ): Promise<Result<ManagerLease, LeaseHolder | undefined>> {
    const token = await redis.incr(tokenKey(queueName));
    const value = JSON.stringify({ ...holder, token, nonce: randomUUID() } satisfies LeaseHolder);
    const key = leaseKey(queueName);
    let set: string | null = await redis.set(key, value, 'PX', lockStaleMs(), 'NX');
    if (set !== 'OK') {
      // A manager of this host that has died (killed, crashed) holds it no more: its lease is replaced at once.
      const current = await redis.get(key);
      if (!current || !deadLocalHolder(current, holder.holder)) return err(await leaseHolder(redis, queueName));
      set = (await redis.eval(REPLACE, 1, key, current, value, String(lockStaleMs()))) as string | null;
      if (set !== 'OK') return err(await leaseHolder(redis, queueName));
    }
    const lease = new ManagerLease(redis, queueName, value, onLost);
    lease.timer = setInterval(() => void lease.renew(), Math.max(200, Math.round(lockStaleMs() / 6)));
    lease.timer.unref();
    return ok(lease);
  }

  private async renew(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      const key = leaseKey(this.queueName);
      if (Number(await this.redis.eval(RENEW, 1, key, this.value, String(lockStaleMs()))) === 1) return;
      // Gone (Redis lost it): ours again unless someone took it meanwhile.
      if ((await this.redis.set(key, this.value, 'PX', lockStaleMs(), 'NX')) === 'OK') return;
      this.stop();
      this.onLost(await leaseHolder(this.redis, this.queueName));
    } catch {
      // Redis unreachable for now: the next renewal tries again, within the lease.
    } finally {
      this.renewing = false;
    }
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async release(): Promise<void> {
    this.stop();
    await this.redis.eval(RELEASE, 1, leaseKey(this.queueName), this.value).catch(() => {});
  }
}

/** The manager holding a workspace's lease, if any. */
export async function leaseHolder(redis: Redis, queueName: string): Promise<LeaseHolder | undefined> {
  const value = await redis.get(leaseKey(queueName));
  if (!value) return undefined;
  try {
    return JSON.parse(value) as LeaseHolder;
  } catch {
    return { holder: 'unknown', command: 'start', token: 0, nonce: '' };
  }
}

/**
 * For `resume` and `rerun --queue` on any host: the manager holding the workspace's lease, described
 * as a lock holder. An error when Redis cannot be asked: then nobody may act as if it were free.
 */
export async function managerByLease(url: string, queueName: string): Promise<Result<Lock | undefined, string>> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const held = await leaseHolder(redis, queueName);
    if (!held) return ok(undefined);
    const at = held.holder.lastIndexOf(':');
    return ok({ pid: Number(held.holder.slice(at + 1)) || 0, host: held.holder.slice(0, Math.max(0, at)), command: held.command, acquiredAt: '' });
  } catch (error) {
    return err(`cannot ask Redis at ${url} whether a manager holds this workspace: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    redis.disconnect();
  }
}

/** A lease value naming a process of this very host (same host name as `me`) that is no longer running. */
function deadLocalHolder(value: string, me: string): boolean {
  try {
    const { holder } = JSON.parse(value) as LeaseHolder;
    const at = holder.lastIndexOf(':');
    const pid = Number(holder.slice(at + 1));
    return holder.slice(0, at) === me.slice(0, me.lastIndexOf(':')) && Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isProcessRunning(pid);
  } catch {
    return false;
  }
}
