import { Redis } from 'ioredis';
import { err, messageOf, ok, type Result } from '../result.js';
import { lockDurationMs } from '../util/lock-duration.js';

/**
 * The BullMQ queue a workspace's task attempts go through: one per workspace, by its id
 * (.pop/workspace-id), so two workspaces with the same folder name never share one.
 */
export function queueNameFor(workspaceId: string): string {
  return `pop-${workspaceId}`;
}

/**
 * Timings of the stalled-job check. A worker renews its hold on a job every half lock; a job whose
 * lock lapsed (its worker died) is failed at the next check, and the manager starts a new attempt.
 * POP_QUEUE_LOCK_MS shortens them (tests).
 */
export function lockTimings(): { lockDuration: number; stalledInterval: number } {
  const lockDuration = lockDurationMs();
  return { lockDuration, stalledInterval: Math.max(100, Math.round(lockDuration / 2)) };
}

/** A connection that waits through Redis restarts (BullMQ needs `maxRetriesPerRequest: null`). */
export function connect(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(times * 100, 1000) });
}

/** At start: is Redis there? One try, a short wait, an error that names the URL. */
export async function checkReachable(url: string): Promise<Result<void, string>> {
  let probe: Redis;
  try {
    probe = new Redis(url, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  } catch (error) {
    return err(`"${url}" is not a Redis URL: ${messageOf(error)}`);
  }
  let seen = '';
  probe.on('error', (error: Error) => (seen ||= error.message));
  try {
    await probe.connect();
    await probe.ping();
    return ok(undefined);
  } catch (error) {
    return err(`cannot reach Redis at ${url}: ${seen || messageOf(error)}`);
  } finally {
    probe.disconnect();
  }
}
