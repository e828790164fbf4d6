import { setTimeout as delay } from 'node:timers/promises';
import { anyAlive, findDescendants, signalGroup, signalProcesses } from '../util/descendants.js';

/** After SIGTERM, a task's subprocesses get this long to stop before SIGKILL. */
export const SUBPROCESS_GRACE_MS = 2000;
const POLL_MS = 50;

/**
 * Before the runner exits, end every process the task started, including those that left its
 * process group with setsid: found by parent pid now, while they are still the runner's children
 * (once it exits they belong to init and can no longer be told apart).
 */
export async function endSubprocesses(): Promise<void> {
  const found = findDescendants(process.pid);
  if (found.length === 0) return;
  signalProcesses(found, 'SIGTERM');
  const deadline = Date.now() + SUBPROCESS_GRACE_MS;
  while (anyAlive(found) && Date.now() < deadline) await delay(POLL_MS);
  signalProcesses(found, 'SIGKILL');
}

/** No time to wait (the task called process.exit, or the manager is gone): SIGKILL them now. */
export function killSubprocessesNow(): void {
  signalProcesses(findDescendants(process.pid), 'SIGKILL');
}

/** The manager is gone: end the task's subprocesses and its whole process group, the runner with it. */
export function endProcessGroup(): never {
  killSubprocessesNow();
  signalGroup(process.pid, 'SIGKILL');
  process.exit(2);
}
