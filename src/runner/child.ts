/**
 * The runner: a fresh Node process per task attempt. `node child.js <workspace> <letter.json>`.
 * It writes only inside its task folder, reports progress over IPC, and exits 0 only after
 * output.json is on disk.
 */
import { dirname, join, resolve } from 'node:path';
import { readJsonFile } from '../fs/read-json.js';
import { LetterSchema, type Letter } from '../formats/letter.js';
import { OutputSchema } from '../formats/output.js';
import { PipelineSchema } from '../formats/pipeline.js';
import { SeedSchema } from '../formats/seed.js';
import type { RunnerMessage } from '../formats/ipc.js';
import type { TaskFailure } from '../formats/task-failure.js';
import { emptyUsage } from '../formats/usage.js';
import { loadRegistry } from '../registry/load-registry.js';
import { runPaths, workspacePaths } from '../workspace.js';
import { fileLogger } from '../log.js';
import { runTask } from './run-task.js';

function send(message: RunnerMessage): Promise<void> {
  return new Promise((done) => {
    if (!process.send || !process.connected) return done();
    process.send(message, undefined, {}, () => done());
  });
}

async function fail(error: TaskFailure): Promise<never> {
  await send({ type: 'failed', error, usage: emptyUsage(), refinements: 0 });
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

async function main(): Promise<never> {
  const [workspace, letterArg] = process.argv.slice(2);
  if (!workspace || !letterArg) return fail({ reason: 'spawn-error', message: 'usage: child.js <workspace> <letter.json>' });
  const letterPath = resolve(letterArg);
  const taskDir = dirname(letterPath);
  const runDir = resolve(taskDir, '..', '..');

  const letterRead = await readJsonFile(letterPath, LetterSchema);
  if (!letterRead.ok) return fail({ reason: 'spawn-error', message: letterRead.error.message });
  const letter: Letter = letterRead.value;

  const registry = await loadRegistry(workspacePaths(resolve(workspace)).registryFile);
  if (!registry.ok) return fail({ reason: 'invalid-task', message: registry.error.message });
  const definition = registry.value.tasks.get(letter.module);
  if (!definition) {
    return fail({ reason: 'invalid-task', message: `task "${letter.module}" is not in ${registry.value.file} (registered: ${[...registry.value.tasks.keys()].join(', ')})` });
  }

  const paths = runPaths(runDir);
  const [seed, pipeline] = await Promise.all([readJsonFile(paths.seed, SeedSchema), readJsonFile(paths.pipeline, PipelineSchema)]);
  if (!seed.ok) return fail({ reason: 'spawn-error', message: seed.error.message });
  if (!pipeline.ok) return fail({ reason: 'spawn-error', message: pipeline.error.message });

  const inputs: Record<string, unknown> = {};
  for (const [name, relative] of Object.entries(letter.inputs)) {
    const output = await readJsonFile(join(runDir, relative), OutputSchema);
    if (!output.ok) return fail({ reason: 'spawn-error', message: `input of task "${name}": ${output.error.message}` });
    inputs[name] = output.value.value;
  }

  const { log, close } = fileLogger(join(taskDir, 'task.log'), { run: letter.runId, task: letter.task, attempt: letter.attempt });
  const abort = new AbortController();
  process.once('SIGTERM', () => {
    log.warn({ event: 'task-interrupted', signal: 'SIGTERM' }, 'stopping');
    abort.abort(new Error('the task was stopped'));
  });

  const result = await runTask({
    letter,
    taskDir,
    definition,
    seed: seed.value,
    inputs,
    providers: pipeline.value.providers,
    prices: pipeline.value.prices,
    log,
    signal: abort.signal,
    onStage: (stage, call) => void send({ type: 'stage', stage, attempt: call }),
  });

  if (result.ok) {
    log.info({ event: 'task-complete', refinements: result.output.refinements, usage: result.output.usage }, 'complete');
    close();
    await send({ type: 'done', model: result.output.model, usage: result.output.usage, refinements: result.output.refinements, ...(result.output.costUsd === undefined ? {} : { costUsd: result.output.costUsd }) });
    process.exit(0);
  }
  log.error({ event: 'task-failed', reason: result.error.reason, stage: result.error.stage, message: result.error.message }, 'failed');
  close();
  await send({ type: 'failed', error: result.error, usage: result.usage, refinements: result.refinements });
  process.exit(1);
}

// Task code can fail outside any stage call (a timer, a stray promise): report it, then exit.
const crash = (error: unknown) => {
  const failure: TaskFailure = {
    reason: 'task-threw',
    message: `uncaught: ${error instanceof Error ? error.message : String(error)}`,
    ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
  };
  void fail(failure);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

void main().catch(crash);
