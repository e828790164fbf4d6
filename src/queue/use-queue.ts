import { useAttemptRunner } from '../manager/execution/attempt-runner.js';
import { runTaskProcess } from '../manager/execution/task-process.js';
import { err, ok, type Result } from '../result.js';
import { checkReachable, connect, queueNameFor } from './connection.js';
import { QueueAttempts } from './queue-attempts.js';

/** Tries of a refused job under `start --once` (waits of 0.5, 1, 2 and 4 s between them). */
const ONCE_ADD_TRIES = 5;

/**
 * `start --queue`: this manager's task attempts go to the workspace's queue instead of local
 * processes. Returns how to let go of the queue when the manager stops.
 */
export async function useQueue(url: string, root: string, options: { once?: boolean } = {}): Promise<Result<() => Promise<void>, string>> {
  const reachable = await checkReachable(url);
  if (!reachable.ok) return err(reachable.error);
  const connections = [connect(url), connect(url)] as const;
  for (const connection of connections) connection.on('error', () => {});
  // `start --once` must end: a job Redis keeps refusing is left for the next start after a few tries.
  const attempts = new QueueAttempts(queueNameFor(root), connections[0], connections[1], options.once ? ONCE_ADD_TRIES : undefined);
  useAttemptRunner(attempts.run);
  return ok(async () => {
    useAttemptRunner(runTaskProcess);
    await attempts.close();
    for (const connection of connections) connection.disconnect();
  });
}
