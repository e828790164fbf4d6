import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock } from '../../fs/lock-file.js';
import { readJsonFile } from '../../fs/read-json.js';
import { RunStatusSchema, type RunState } from '../../formats/tasks-status.js';
import { err, messageOf, ok, type Result } from '../../result.js';
import { runLockPath, runPaths, type WorkspacePaths } from '../../workspace.js';

export { parseAge } from './parse-age.js';

/** A run folder being removed: renamed to this first, so it vanishes from listings at once. */
const PRUNE_PREFIX = '.pruning-';

export interface PrunableRun {
  id: string;
  dir: string;
  state: RunState;
  /** When its status last changed: when it failed or completed. */
  updatedAt: string;
}

export interface PruneSelection {
  failed: boolean;
  complete: boolean;
  /** Only runs whose status last changed before this time (ms since the epoch). */
  before: number;
}

/**
 * The runs a prune would remove: failed runs in pipeline-current/ and, only when asked, complete
 * runs in pipeline-complete/. Queued and running runs are never candidates.
 */
export async function findPrunable(paths: WorkspacePaths, selection: PruneSelection): Promise<PrunableRun[]> {
  const found: PrunableRun[] = [];
  const folders = [
    ...(selection.failed ? [{ dir: paths.current, state: 'failed' as const }] : []),
    ...(selection.complete ? [{ dir: paths.complete, state: 'complete' as const }] : []),
  ];
  for (const folder of folders) {
    for (const entry of await readdir(folder.dir, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const dir = join(folder.dir, entry.name);
      const status = await readJsonFile(runPaths(dir).status, RunStatusSchema);
      if (!status.ok || status.value.state !== folder.state) continue;
      if (Date.parse(status.value.updatedAt) >= selection.before) continue;
      found.push({ id: entry.name, dir, state: status.value.state, updatedAt: status.value.updatedAt });
    }
  }
  return found.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Remove one run folder, holding its lock so that no resume or rerun is working on it meanwhile,
 * and only if its state is still the one it was chosen for.
 */
export async function removeRun(paths: WorkspacePaths, run: PrunableRun): Promise<Result<void, string>> {
  await mkdir(paths.locks, { recursive: true });
  const lock = await acquireLock(runLockPath(paths, run.id), 'prune');
  if (!lock.ok) {
    return err(lock.error.reason === 'held' ? `busy: process ${lock.error.holder.pid} (${lock.error.holder.command}) is working on it` : lock.error.message);
  }
  try {
    const status = await readJsonFile(runPaths(run.dir).status, RunStatusSchema);
    if (!status.ok) return err(status.error.message);
    if (status.value.state !== run.state) return err(`its state is now ${status.value.state}`);
    const doomed = join(run.dir, '..', `${PRUNE_PREFIX}${run.id}`);
    await rename(run.dir, doomed);
    await rm(doomed, { recursive: true, force: true });
    return ok(undefined);
  } catch (error) {
    return err(messageOf(error));
  } finally {
    await lock.value.release();
  }
}

/** Finish removals a previous prune left half done (killed between rename and delete). */
export async function removePruneLeftovers(paths: WorkspacePaths): Promise<void> {
  for (const dir of [paths.current, paths.complete]) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name.startsWith(PRUNE_PREFIX)) await rm(join(dir, name), { recursive: true, force: true });
    }
  }
}
