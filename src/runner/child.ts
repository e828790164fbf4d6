/**
 * The runner: a fresh Node process per task attempt. `node child.bundle.js <workspace> <letter.json>`,
 * or the same program restored from its startup snapshot (runner-snapshot.ts).
 * It writes only inside its task folder, reports progress over its channel (fd 3), and exits 0 only after
 * output.json is on disk. The files it reads (letter, seed, pipeline snapshot, earlier outputs)
 * were checked against their schemas by the manager before it was started, so it does not load
 * zod to check them again: module loading is most of a task process's start-up cost.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Letter } from '../formats/letter.js';
import type { Output } from '../formats/output.js';
import type { RunnerMessage } from '../formats/ipc.js';
import { emptyUsage } from '../util/usage.js';
import { loadRegistry } from '../registry/load-registry.js';
import { providePop } from '../registry/provide-pop.js';
import { runPaths, workspacePaths } from '../workspace.js';
import { openTaskLog } from './task-log.js';
import { runTask } from './run-task.js';
import { ManagerChannel } from './channel.js';
import { connectGateway } from './gateway-client.js';
import { endProcessGroup, endSubprocesses, killSubprocessesNow } from './end-subprocesses.js';
import { learnEnvFile, learnKeyVariables } from '../secrets/known-secrets.js';
import { redactStandardStreams } from '../secrets/redact-streams.js';
import { readPipelineSnapshot } from './read-pipeline.js';

type RunnerFailure = Extract<RunnerMessage, { type: 'failed' }>['error'];

// Set when the runner starts (not when its modules load: they may be loaded into a startup snapshot).
let channel: ManagerChannel;

/**
 * The manager (or worker) sends heartbeats while it runs this task. One that falls silent for
 * longer than it said (frozen, or cut off from Redis while its job is retried on another worker)
 * may no longer own this task: stop it, subprocesses and all, as when the channel closes.
 */
function followHeartbeats(): void {
  let lastHeard = 0;
  let silence: NodeJS.Timeout | undefined;
  channel.onMessage((message) => {
    if (message.type !== 'heartbeat') return;
    lastHeard = Date.now();
    const { silenceMs } = message;
    clearTimeout(silence);
    silence = setTimeout(() => {
      // A heartbeat already in the pipe is read first: a task that held the event loop is not stopped for it.
      setImmediate(() => {
        if (Date.now() - lastHeard < silenceMs) return;
        process.stderr.write(`POP: no word from the manager for ${silenceMs} ms: stopping this task and its subprocesses\n`);
        endProcessGroup();
      });
    }, silenceMs);
    silence.unref();
  });
}

/** A standby has started Node and loaded the runner before it has a task; this is where it waits. */
async function letterFromManager(): Promise<string> {
  return (await channel.next('run')).letter;
}

/** A file the manager has already checked against its schema. */
async function readJson<T>(path: string): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    // A seed may start with a UTF-8 byte-order mark (the manager accepted it); JSON.parse does not.
    return { ok: true, value: JSON.parse((await readFile(path, 'utf8')).replace(/^\uFEFF/, '')) as T };
  } catch (error) {
    return { ok: false, error: `${path}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The end of a task attempt: whatever the task started ends first, then the runner. */
async function exitWith(code: number): Promise<never> {
  await endSubprocesses();
  process.exit(code);
}

async function fail(error: RunnerFailure): Promise<never> {
  await channel.send({ type: 'failed', error, usage: emptyUsage(), refinements: 0 });
  process.stderr.write(`${error.message}\n`);
  return exitWith(1);
}

async function main(): Promise<never> {
  const [workspace, letterOrStandby] = process.argv.slice(2);
  if (!workspace || !letterOrStandby) return fail({ reason: 'spawn-error', message: 'usage: child.js <workspace> <letter.json | --standby>' });
  // Before the letter: a standby sets this up while it waits, off the task's critical path.
  void providePop(workspacePaths(resolve(workspace)).registryFile);
  const letterArg = letterOrStandby === '--standby' ? await letterFromManager() : letterOrStandby;
  learnEnvFile(workspacePaths(resolve(workspace)).envFile);
  const letterPath = resolve(letterArg);
  const taskDir = dirname(letterPath);
  const runDir = resolve(taskDir, '..', '..');

  const letter = await readJson<Letter>(letterPath);
  if (!letter.ok) return fail({ reason: 'spawn-error', message: letter.error });

  const registry = await loadRegistry(workspacePaths(resolve(workspace)).registryFile);
  if (!registry.ok) return fail({ reason: 'invalid-task', message: registry.error.message });
  const definition = registry.value.tasks.get(letter.value.module);
  if (!definition) {
    return fail({
      reason: 'invalid-task',
      message: `task "${letter.value.module}" is not in ${registry.value.file} (registered: ${[...registry.value.tasks.keys()].join(', ')})`,
    });
  }

  const paths = runPaths(runDir);
  const [seed, pipeline] = await Promise.all([readJson<Record<string, unknown>>(paths.seed), readPipelineSnapshot(paths.pipeline)]);
  if (!seed.ok) return fail({ reason: 'spawn-error', message: seed.error });
  if (!pipeline.ok) return fail({ reason: 'spawn-error', message: pipeline.error });
  learnKeyVariables(pipeline.value.providers);

  const inputs: Record<string, unknown> = {};
  for (const [name, relative] of Object.entries(letter.value.inputs)) {
    const output = await readJson<Output>(join(runDir, relative));
    if (!output.ok) return fail({ reason: 'spawn-error', message: `input of task "${name}": ${output.error}` });
    inputs[name] = output.value.value;
  }

  const { log, close } = openTaskLog(join(taskDir, 'task.log'), { run: letter.value.runId, task: letter.value.task, attempt: letter.value.attempt });
  const abort = new AbortController();
  process.once('SIGTERM', () => {
    log.warn({ event: 'task-interrupted', signal: 'SIGTERM' }, 'stopping');
    abort.abort(new Error('the task was stopped'));
  });

  const result = await runTask({
    letter: letter.value,
    taskDir,
    definition,
    seed: seed.value,
    inputs,
    providers: pipeline.value.providers,
    prices: pipeline.value.prices,
    aliases: pipeline.value.models,
    log,
    signal: abort.signal,
    onStage: (stage, call) => void channel.send({ type: 'stage', stage, call }),
    onItems: (counts) => void channel.send({ type: 'items', ...counts }),
    onTruncated: (truncation) => void channel.send({ type: 'truncated', ...truncation }),
  });

  if (result.ok) {
    log.info({ event: 'task-complete', refinements: result.output.refinements, usage: result.output.usage }, 'complete');
    close();
    await channel.send({
      type: 'done',
      model: result.output.model,
      usage: result.output.usage,
      refinements: result.output.refinements,
      ...(result.output.costUsd === undefined ? {} : { costUsd: result.output.costUsd }),
    });
    return exitWith(0);
  }
  if ('parked' in result) {
    log.info({ event: 'task-parked', provider: result.parked }, `waiting for ${result.parked}'s Batch API`);
    close();
    await channel.send({ type: 'parked', usage: result.usage, refinements: result.refinements });
    return exitWith(0);
  }
  log.error({ event: 'task-failed', reason: result.error.reason, stage: result.error.stage, message: result.error.message }, 'failed');
  close();
  // runTask reports only failures of the task's own making (task-threw, refinements-exhausted, provider-failed).
  await channel.send({
    type: 'failed',
    error: result.error as RunnerFailure,
    usage: result.usage,
    refinements: result.refinements,
    ...(result.costUsd === undefined ? {} : { costUsd: result.costUsd }),
  });
  return exitWith(1);
}

// Task code can fail outside any stage call (a timer, a stray promise): report it, then exit.
const crash = (error: unknown) => {
  const failure: RunnerFailure = {
    reason: 'task-threw',
    message: `uncaught: ${error instanceof Error ? error.message : String(error)}`,
    ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
  };
  void fail(failure);
};

export function startRunner(): void {
  // stdout and stderr are pipes to the manager: made blocking, as a file would be, so what a task
  // prints just before process.exit is not left behind in a buffer.
  for (const stream of [process.stdout, process.stderr])
    (stream as unknown as { _handle?: { setBlocking?: (on: boolean) => void } })._handle?.setBlocking?.(true);

  // A manager that exits or is killed closes the channel: end the task's subprocesses and its whole
  // process group, so a restarted manager's new attempt never races an orphan of the old one.
  channel = new ManagerChannel(endProcessGroup);
  // Model calls go over it to the manager's gateway.
  connectGateway(channel);
  followHeartbeats();

  // A task calling process.exit leaves no time for a grace period: its subprocesses end at once.
  process.on('exit', killSubprocessesNow);
  // What the task prints goes to console.log: no key in it either.
  redactStandardStreams();
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  void main().catch(crash);
}
