import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { lockHolder } from '../../fs/lock-file.js';
import { readJsonFile } from '../../fs/read-json.js';
import { RunStatusSchema } from '../../formats/tasks-status.js';
import type { ManagerEvent } from '../../manager/events.js';
import { copyRunForRerun } from '../../manager/recovery/copy-run.js';
import { describeFindError, findRun } from '../../manager/runs/find-run.js';
import { loadWorkspace } from '../../manager/load-workspace.js';
import { prepareResume } from '../../manager/recovery/prepare-resume.js';
import { runLockPath, runPaths, type WorkspacePaths } from '../../workspace.js';
import { EXIT, exitForFindError } from '../exit-codes.js';
import { continueRun } from './continue-run.js';

interface CommonOptions {
  pipeline: boolean;
  wait: boolean;
  /** A `start --queue` manager's Redis, whose lease is asked too. */
  queue?: string | undefined;
  log: Logger;
  onEvent?: (event: ManagerEvent) => void;
}

/** Checks that the workspace can run tasks at all (registry, models, keys) before touching a run. */
async function workspaceProblems(paths: WorkspacePaths): Promise<boolean> {
  const loaded = await loadWorkspace(paths);
  if (loaded.ok) return false;
  for (const problem of loaded.error) process.stderr.write(`pop: ${problem}\n`);
  return true;
}

/** `resume <id>`: a failed or interrupted run continues from its first task not complete. */
export async function resumeCommand(paths: WorkspacePaths, id: string, options: CommonOptions): Promise<number> {
  const found = await findRun(paths, id);
  if (!found.ok) {
    process.stderr.write(`pop: ${describeFindError(found.error)}\n`);
    return exitForFindError(found.error);
  }
  const run = found.value;
  if (run.where === 'complete') {
    process.stderr.write(`pop: run ${run.id} is already complete; to run tasks again: pop rerun ${run.id} --from <task>\n`);
    return EXIT.usage;
  }
  const holder = await lockHolder(runLockPath(paths, run.id));
  if (holder) {
    process.stderr.write(`pop: run ${run.id} is busy: pid ${holder.pid} ("${holder.command}") is working on it\n`);
    return EXIT.busy;
  }
  if (await workspaceProblems(paths)) return EXIT.usage;
  const pipeline = options.pipeline ? 'current' : 'snapshot';
  return continueRun({
    paths,
    id: run.id,
    runDir: run.dir,
    pipeline,
    prepare: (status) => prepareResume(run.dir, status, pipeline === 'current' ? { kind: 'current', file: paths.pipelineFile } : { kind: 'snapshot' }),
    wait: options.wait,
    queue: options.queue,
    command: 'resume',
    log: options.log,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
}

/**
 * `rerun <id> --from <task>`: a copy of the run under a new id keeps the outputs before <task>
 * and runs <task> and those after with the current task code. The original stays as it was.
 */
export async function rerunCommand(paths: WorkspacePaths, id: string, from: string, options: CommonOptions): Promise<number> {
  const found = await findRun(paths, id);
  if (!found.ok) {
    process.stderr.write(`pop: ${describeFindError(found.error)}\n`);
    return exitForFindError(found.error);
  }
  const source = found.value;
  const holder = await lockHolder(runLockPath(paths, source.id));
  if (holder) {
    process.stderr.write(`pop: run ${source.id} is busy: pid ${holder.pid} ("${holder.command}") is working on it; rerun it when it has finished\n`);
    return EXIT.busy;
  }
  const status = await readJsonFile(runPaths(source.dir).status, RunStatusSchema);
  if (!status.ok) {
    process.stderr.write(`pop: ${status.error.message}\n`);
    return EXIT.runsFailed;
  }
  if (await workspaceProblems(paths)) return EXIT.usage;
  const pipelineText = options.pipeline ? await readFile(paths.pipelineFile, 'utf8') : undefined;
  const copy = await copyRunForRerun(paths, { dir: source.dir, status: status.value }, from, pipelineText);
  if (!copy.ok) {
    process.stderr.write(`pop: ${copy.error}\n`);
    return EXIT.usage;
  }
  process.stdout.write(`rerun of ${source.id} from ${from}: new run ${copy.value.id}\n`);
  return continueRun({
    paths,
    id: copy.value.id,
    runDir: copy.value.runDir,
    pipeline: 'snapshot',
    wait: options.wait,
    queue: options.queue,
    command: 'rerun',
    log: options.log,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
}
