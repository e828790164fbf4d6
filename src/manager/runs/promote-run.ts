import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDirectory } from '../../fs/atomic-write.js';
import { appendLine, repairTornTail } from '../../fs/append-line.js';
import type { RunStatus } from '../../formats/tasks-status.js';
import type { WorkspacePaths } from '../../workspace.js';
import { buildRunRecord } from './run-record.js';
import { saveStatus } from './run-status.js';
import { crashPoint } from '../recovery/crash-point.js';
import { stringifyRedacted } from '../../secrets/known-secrets.js';

/**
 * Finish a run whose tasks are all complete: mark it complete, append its runs.jsonl line, then
 * move the folder to pipeline-complete/. In that order a crash leaves a complete run in
 * pipeline-current/, which start-up finishes, appending the line only if it is not there yet.
 */
export async function promoteRun(
  paths: WorkspacePaths,
  runDir: string,
  status: RunStatus,
  options: { alreadyRecorded?: (id: string) => Promise<boolean> } = {},
): Promise<string> {
  const completedAt = status.state === 'complete' ? status.updatedAt : new Date().toISOString();
  if (status.state !== 'complete') {
    status.state = 'complete';
    status.running = [];
    await saveStatus(runDir, status);
  }
  // A line torn by a crash or a full disk would otherwise swallow the start of this one.
  await mkdir(paths.complete, { recursive: true });
  await repairTornTail(paths.runsJsonl, tornLinesFile(paths));
  if (!(await options.alreadyRecorded?.(status.id))) {
    const record = await buildRunRecord(runDir, status, completedAt);
    await appendLine(paths.runsJsonl, stringifyRedacted(record).text);
    crashPoint('after-runs-append');
  }
  const target = join(paths.complete, status.id);
  await rename(runDir, target);
  // The move survives a power cut only once both folders are on disk.
  await Promise.all([syncDirectory(dirname(runDir)), syncDirectory(paths.complete)]);
  return target;
}

/** Where torn runs.jsonl lines are kept when they are cut off. */
export const tornLinesFile = (paths: WorkspacePaths): string => `${paths.runsJsonl}.torn`;
