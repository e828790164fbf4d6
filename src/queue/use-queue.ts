import { workspaceId } from '../fs/workspace-id.js';
import { useAttemptRunner } from '../manager/execution/attempt-runner.js';
import { runTaskProcess } from '../manager/execution/task-process.js';
import { err, ok, type Result } from '../result.js';
import { checkReachable, connect, queueNameFor } from './connection.js';
import { QueueAttempts } from './queue-attempts.js';

/**
 * `start --queue`: this manager's task attempts go to the workspace's queue instead of local
 * processes. Returns how to let go of the queue when the manager stops.
 */
export async function useQueue(url: string, root: string): Promise<Result<() => Promise<void>, string>> {
  const reachable = await checkReachable(url);
  if (!reachable.ok) return err(reachable.error);
  const connections = [connect(url), connect(url)] as const;
  for (const connection of connections) connection.on('error', () => {});
  const attempts = new QueueAttempts(queueNameFor(await workspaceId(root)), connections[0], connections[1]);
  useAttemptRunner(attempts.run);
  return ok(async () => {
    useAttemptRunner(runTaskProcess);
    await attempts.close();
    for (const connection of connections) connection.disconnect();
  });
}
