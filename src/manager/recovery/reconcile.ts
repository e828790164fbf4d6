import { createReadStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TEMP_SUFFIX } from '../../fs/atomic-write.js';
import { readJsonFile } from '../../fs/read-json.js';
import { RunStatusSchema, type RunStatus } from '../../formats/tasks-status.js';
import { runPaths, type WorkspacePaths } from '../../workspace.js';
import { CLAIM_PREFIX } from '../intake/claim-seed.js';
import type { EmitEvent } from '../events.js';
import { rebuildTornStatus } from './rebuild-status.js';

export interface CurrentRun {
  runDir: string;
  status: RunStatus;
}

/**
 * What start-up finds in pipeline-current/: runs to continue, and half-built claims and temp files
 * left by a crash, which are removed (their seeds are still pending) unless `readOnly` (for
 * `status`, which must not touch a running manager's files). Completed runs are not read.
 */
export async function scanCurrentRuns(paths: WorkspacePaths, emit: EmitEvent, options: { readOnly?: boolean } = {}): Promise<CurrentRun[]> {
  const entries = await readdir(paths.current, { withFileTypes: true }).catch(() => []);
  const runs: CurrentRun[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(paths.current, entry.name);
    if (entry.name.startsWith(CLAIM_PREFIX) || (entry.name.startsWith('.') && entry.name.endsWith(TEMP_SUFFIX))) {
      if (!options.readOnly) await rm(path, { recursive: true, force: true });
      continue;
    }
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    if (!options.readOnly) await removeTempFiles(path);
    const status = await readJsonFile(runPaths(path).status, RunStatusSchema);
    if (!status.ok) {
      emit({ event: 'state-unreadable', path: status.error.path, message: status.error.message });
      if (!options.readOnly) runs.push({ runDir: path, status: await rebuildTornStatus(path, status.error.message) });
      continue;
    }
    runs.push({ runDir: path, status: status.value });
  }
  return runs;
}

/** Temp files of interrupted atomic writes, in a run folder, its task folders and their items' folders. */
async function removeTempFiles(runDir: string): Promise<void> {
  const tasksDir = join(runDir, 'tasks');
  const taskDirs = (await readdir(tasksDir).catch(() => [] as string[])).map((name) => join(tasksDir, name));
  const itemDirs: string[] = [];
  for (const taskDir of taskDirs)
    itemDirs.push(...(await readdir(join(taskDir, 'items')).catch(() => [] as string[])).map((name) => join(taskDir, 'items', name)));
  for (const dir of [runDir, ...taskDirs, ...itemDirs]) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name.startsWith('.') && name.endsWith(TEMP_SUFFIX)) await rm(join(dir, name), { force: true });
    }
  }
}

/** Whether runs.jsonl already has a line for this run; read only when recovering a promotion. */
export async function runsJsonlHas(path: string, id: string): Promise<boolean> {
  const needle = `"id":${JSON.stringify(id)}`;
  try {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    for await (const line of lines) if (line.includes(needle)) return true;
  } catch {
    return false;
  }
  return false;
}
