import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { lockHolder } from '../fs/lock-file.js';
import { workspacePaths } from '../workspace.js';

/** How often the manager looks whether a lost job's attempt still runs somewhere. */
const LOOK_MS = 500;

/**
 * Held by the worker running a task's attempt, for as long as its process runs: the queue's word
 * that a job ended is lost with Redis's data, this lock is not (a dead worker's is free at once on
 * its host, or once its heartbeat is stale on another).
 */
export const attemptLockPath = (root: string, run: string, task: string): string => join(workspacePaths(root).locks, `${run}.${task}.attempt.lock`);

/** Wait until no worker runs an attempt of this task (or the manager stops waiting). */
export async function attemptEnded(path: string, signal: AbortSignal): Promise<void> {
  while (!signal.aborted && (await lockHolder(path))) await sleep(LOOK_MS).catch(() => {});
}
