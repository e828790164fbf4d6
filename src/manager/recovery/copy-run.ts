import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineSchema } from '../../formats/pipeline.js';
import { parsePipelineText } from '../../formats/parse-jsonc.js';
import { resolveTasks, taskGraphOf } from '../../formats/resolve-pipeline.js';
import type { RunStatus } from '../../formats/tasks-status.js';
import { err, ok, type Result } from '../../result.js';
import { runPaths, taskPaths, type WorkspacePaths } from '../../workspace.js';
import { CLAIM_PREFIX } from '../intake/claim-seed.js';
import { newRunId } from '../intake/run-id.js';
import { initialStatus, saveStatus } from '../runs/run-status.js';

/**
 * `rerun --from <task>`: copy a run to a new id, keeping every complete task not downstream of
 * `<task>` byte for byte (no model call is made for them again; marked `copied`) and leaving
 * `<task>`, its downstream, and tasks the source never completed to run. The original run is not
 * touched. Built in a temp folder and renamed into place, like a claim.
 */
export async function copyRunForRerun(
  paths: WorkspacePaths,
  source: { dir: string; status: RunStatus },
  from: string,
  pipelineText: string | undefined,
): Promise<Result<{ id: string; runDir: string; status: RunStatus }, string>> {
  const sourceFiles = runPaths(source.dir);
  const text = pipelineText ?? (await readFile(sourceFiles.pipeline, 'utf8'));
  const data = parsePipelineText(text);
  if (!data.ok) return err(`the pipeline for the rerun is ${data.error}`);
  const parsed = PipelineSchema.safeParse(data.value);
  if (!parsed.success) return err(`the pipeline for the rerun is not valid: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const tasks = resolveTasks(parsed.data);
  if (!tasks.some((task) => task.name === from)) return err(`no task "${from}" in the run's pipeline; its tasks: ${tasks.map((task) => task.name).join(', ')}`);
  const graph = taskGraphOf(parsed.data);
  const isComplete = (name: string) => source.status.tasks[name]?.state === 'complete';
  for (const name of graph.upstreamOf(from)) {
    if (!isComplete(name))
      return err(`task "${name}" of run ${source.status.id} is not complete, so the rerun cannot start at "${from}"; start at "${name}" or earlier`);
  }
  const redone = new Set(graph.downstreamOf(from));
  const kept = tasks.filter((task) => !redone.has(task.name) && isComplete(task.name));

  const id = newRunId(source.status.source.file);
  const temp = join(paths.current, `${CLAIM_PREFIX}${id}`);
  const runDir = join(paths.current, id);
  const files = runPaths(temp);
  try {
    await mkdir(files.tasks, { recursive: true });
    await cp(sourceFiles.seed, files.seed);
    await writeFile(files.pipeline, text);
    for (const task of kept) await cp(taskPaths(source.dir, task.name).dir, taskPaths(temp, task.name).dir, { recursive: true, preserveTimestamps: true });
    const status = initialStatus({
      id,
      pipeline: parsed.data.name,
      file: source.status.source.file,
      sha256: source.status.source.sha256,
      mtimeMs: 0,
      tasks,
      now: new Date().toISOString(),
    });
    for (const task of kept) status.tasks[task.name] = { ...structuredClone(source.status.tasks[task.name]!), copied: true };
    status.rerunOf = { run: source.status.id, from };
    await saveStatus(temp, status);
    await rename(temp, runDir);
    return ok({ id, runDir, status });
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}
