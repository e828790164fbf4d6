import { RunnerProcess } from './runner-process.js';
import type { StandbyPool } from './standby-pool.js';
import type { RunnerMessage } from '../../formats/ipc.js';
import { isOutputOf, OutputSchema, type Output } from '../../formats/output.js';
import type { TaskFailure } from '../../formats/task-failure.js';
import { readJsonFile } from '../../fs/read-json.js';
import { emptyUsage } from '../../util/usage.js';
import type { Usage } from '../../formats/usage.js';
import { err, messageOf, ok, type Result } from '../../result.js';
import { bindToOwner, withFaultOwner } from '../last-resort.js';
import { faultPoint } from '../recovery/crash-point.js';
import { redactText } from '../../secrets/known-secrets.js';
import type { CallSettings, Gateway } from '../../gateway/gateway.js';
import { noteKeyVariables } from '../../gateway/key-variables.js';
import { isCallMessage, serveCalls } from '../../gateway/serve-calls.js';
import { ledgerPathOf } from '../../ledger/ledger-file.js';
import { dirname } from 'node:path';
import { lockDurationMs } from '../../util/lock-duration.js';

export type TaskProcessFailure = { error: TaskFailure; usage: Usage; refinements: number; costUsd?: number | undefined };

export interface TaskProcessOptions {
  workspace: string;
  run: string;
  task: string;
  /** The attempt's number: its calls are recorded under it in the task's ledger, and only its own output.json completes it. */
  attempt: number;
  letterPath: string;
  outputPath: string;
  consolePath: string;
  timeoutMs: number;
  memoryMb: number;
  cancelSignal: AbortSignal;
  onMessage: (message: RunnerMessage) => void;
  standbys?: StandbyPool | undefined;
  /** What the gateway needs to make this task's model calls. */
  calls: CallSettings;
}

/** Heartbeats per silence a runner waits through: a few lost to a busy moment do not stop it. */
const HEARTBEATS_PER_SILENCE = 5;

/**
 * Tell the runner, now and every few seconds, that its manager (or worker) is alive. One that
 * hears nothing for a job lock's duration (the process froze or was cut off, and the job may be
 * retried elsewhere) stops itself.
 */
function sendHeartbeats(runner: RunnerProcess): NodeJS.Timeout {
  const silenceMs = lockDurationMs();
  const beat = () => runner.channel.send({ type: 'heartbeat', silenceMs });
  beat();
  const timer = setInterval(beat, Math.max(50, Math.floor(silenceMs / HEARTBEATS_PER_SILENCE)));
  timer.unref();
  return timer;
}

/** Why the manager ended an attempt itself, before the runner said anything. */
type Ending = { reason: 'timeout' | 'interrupted' } | { reason: 'protocol-violation' | 'internal-error'; message: string };

/**
 * Run one task attempt in its own Node process (a warm standby when one is free) and say how it
 * ended. Whatever the task does — throw, exit, hang, run out of memory, abuse its channel — it ends
 * here as a value. It completes only on a valid output.json on disk, whatever the runner says.
 * Its model calls go through `gateway`, this process's own.
 */
export async function runTaskProcess(gateway: Gateway, options: TaskProcessOptions): Promise<Result<Output, TaskProcessFailure>> {
  noteKeyVariables(options.calls.providers);
  const standby = options.standbys?.take(options.memoryMb);
  const runner =
    standby ??
    new RunnerProcess({ workspace: options.workspace, memoryMb: options.memoryMb, consolePath: options.consolePath, letterPath: options.letterPath });
  let ended: Ending | undefined;
  const stop = (why: Ending) => {
    ended ??= why;
    runner.stop();
  };

  return withFaultOwner({ run: options.run, task: options.task, fail: (error) => stop({ reason: 'internal-error', message: messageOf(error) }) }, async () => {
    if (standby) {
      runner.console.attach(options.consolePath);
      runner.channel.send({ type: 'run', letter: options.letterPath });
    }
    // A runner that has gone away gets no answer; its calls are aborted when it is seen to end.
    const ledger = { path: ledgerPathOf(dirname(options.outputPath)), run: options.run, task: options.task, attempt: options.attempt };
    const calls = serveCalls(gateway, { ...options.calls, ledger }, (message) => runner.channel.send(message));
    let final: RunnerMessage | undefined;
    runner.channel.onMessage(
      bindToOwner((message: RunnerMessage) => {
        if (isCallMessage(message)) return calls.handle(message);
        if (message.type === 'done' || message.type === 'failed' || message.type === 'parked') final = message;
        options.onMessage(message);
      }),
    );
    runner.channel.onViolation(bindToOwner((problem: string) => stop({ reason: 'protocol-violation', message: problem })));

    // The time limit runs from the hand-over.
    const timer = setTimeout(() => stop({ reason: 'timeout' }), options.timeoutMs);
    const heartbeat = sendHeartbeats(runner);
    const onCancel = () => stop({ reason: 'interrupted' });
    if (options.cancelSignal.aborted) onCancel();
    else options.cancelSignal.addEventListener('abort', onCancel, { once: true });
    faultPoint('task-running');
    const exit = await runner.ended;
    calls.close();
    clearInterval(heartbeat);
    clearTimeout(timer);
    options.cancelSignal.removeEventListener('abort', onCancel);

    const partial =
      final?.type === 'failed' ? { usage: final.usage, refinements: final.refinements, costUsd: final.costUsd } : { usage: emptyUsage(), refinements: 0 };
    const stderrTail = runner.console.stderrTail(redactText);
    const withTail = stderrTail ? { stderrTail } : {};
    const failed = (error: TaskFailure) => err({ ...partial, error: { ...error, ...withTail } });

    if (ended?.reason === 'protocol-violation')
      return failed({ reason: 'protocol-violation', message: `the task process broke its channel's protocol and was stopped: ${ended.message}` });
    if (ended?.reason === 'internal-error')
      return failed({ reason: 'internal-error', message: `the manager hit an unexpected error while this task ran, and stopped it: ${ended.message}` });
    // Parked only when the gateway itself parked calls of this attempt: a runner's word alone is not believed.
    if (exit.exitCode === 0 && !ended && final?.type === 'parked' && calls.parked() > 0)
      return err({
        usage: final.usage,
        refinements: final.refinements,
        error: { reason: 'parked', message: `${calls.parked()} call${calls.parked() === 1 ? '' : 's'} wait for the Batch API` },
      });
    if (exit.exitCode === 0) {
      // The runner exits 0 only after writing output.json; a message saying so proves nothing.
      const output = await readJsonFile(options.outputPath, OutputSchema);
      if (output.ok && isOutputOf(output.value, options.task, options.attempt)) return ok(output.value);
      const problem = !output.ok
        ? output.error.message
        : output.value.task !== options.task
          ? `it is for task "${output.value.task}"`
          : `it is from attempt ${output.value.attempt ?? 'unknown'}`;
      if (!ended)
        return failed({
          reason: 'exited-without-output',
          message: `the task process exited with code 0 without a valid output.json (${problem}); did the task call process.exit?`,
          exitCode: 0,
        });
    }
    if (ended?.reason === 'timeout')
      return failed({ reason: 'timeout', message: `the task ran past its time limit of ${options.timeoutMs} ms and was stopped` });
    if (ended?.reason === 'interrupted') return failed({ reason: 'interrupted', message: 'the task was stopped because the manager is shutting down' });
    if (final?.type === 'failed') return err({ ...partial, error: final.error });
    if (/heap out of memory|Allocation failed/i.test(stderrTail))
      return failed({ reason: 'out-of-memory', message: `the task ran out of memory (heap limit ${options.memoryMb} MB)` });
    if (exit.signal) return failed({ reason: 'killed', message: `the task process was killed by ${exit.signal}`, signal: exit.signal });
    if (exit.exitCode !== null)
      return failed({ reason: 'exit-non-zero', message: `the task process exited with code ${exit.exitCode} before finishing`, exitCode: exit.exitCode });
    return failed({ reason: 'spawn-error', message: `the task process could not run: ${exit.spawnError ?? 'unknown error'}` });
  });
}
