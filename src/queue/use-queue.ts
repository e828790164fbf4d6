import { hostname } from 'node:os';
import { workspaceId } from '../fs/workspace-id.js';
import type { RunAttempt } from '../manager/execution/attempt-runner.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { err, messageOf, ok, type Result } from '../result.js';
import { checkReachable, connect, queueNameFor } from './connection.js';
import { ManagerLease } from './manager-lease.js';
import { QueueAttempts } from './queue-attempts.js';

/** Tries of a refused job under `start --once` (waits of 0.5, 1, 2 and 4 s between them). */
const ONCE_ADD_TRIES = 5;

/**
 * `start --queue`: this manager's task attempts go to the workspace's queue instead of local
 * processes, and the manager holds the workspace's lease in Redis besides its lock file. Returns
 * how to run an attempt on the queue, and how to let go of both when the manager stops.
 */
export async function useQueue(
  url: string,
  root: string,
  options: { command: string; once?: boolean },
): Promise<Result<{ runAttempt: RunAttempt; release: () => Promise<void> }, string>> {
  const reachable = await checkReachable(url);
  if (!reachable.ok) return err(reachable.error);
  const connections = [connect(url), connect(url)] as const;
  for (const connection of connections) connection.on('error', () => {});
  const name = queueNameFor(await workspaceId(root));
  const take = () =>
    ManagerLease.take(connections[0], name, { holder: `${hostname()}:${process.pid}`, command: options.command }, (by) => {
      // Another manager has it now: two must never work at once, so this one stops.
      process.stderr.write(`pop: the workspace's lease in Redis was taken by ${by?.holder ?? 'another manager'}: stopping\n`);
      process.kill(process.pid, 'SIGTERM');
    });
  // A Redis that refuses writes (full at its maxmemory, read-only, no permission) is asked again
  // with backoff; `start --once` gives up after a few tries, leaving every run as it is.
  let lease: Awaited<ReturnType<typeof take>> | undefined;
  for (let tries = 1, waitMs = 500; !lease; tries++, waitMs = Math.min(waitMs * 2, 30_000)) {
    try {
      lease = await take();
    } catch (error) {
      const why = `Redis at ${url} refused the manager's lease: ${messageOf(error)}`;
      if (options.once && tries >= ONCE_ADD_TRIES) {
        for (const connection of connections) connection.disconnect();
        return err(`${why}; nothing was started, every run stays as it is for the next start`);
      }
      process.stderr.write(`pop: ${why}; trying again in ${waitMs / 1000} s\n`);
      await sleep(waitMs);
    }
  }
  if (!lease.ok) {
    for (const connection of connections) connection.disconnect();
    return err(`another manager (${lease.error?.holder ?? 'unknown'}) holds this workspace's lease in Redis at ${url}`);
  }
  // `start --once` must end: a job Redis keeps refusing is left for the next start after a few tries.
  const attempts = new QueueAttempts(name, connections[0], connections[1], options.once ? ONCE_ADD_TRIES : undefined);
  return ok({
    runAttempt: attempts.run,
    release: async () => {
      await lease.value.release();
      await attempts.close();
      for (const connection of connections) connection.disconnect();
    },
  });
}
