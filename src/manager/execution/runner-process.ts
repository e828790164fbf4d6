import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { findDescendants, signalGroup, signalProcesses, type ProcessId } from '../../util/descendants.js';
import { ConsoleCapture } from './console-capture.js';
import { TaskChannel } from './task-channel.js';
import { taskEnvironment } from '../../gateway/key-variables.js';
import { packageRoot } from '../../package-root.js';

/**
 * The runner as one bundled file (`npm run build`): a task process reads and links one module
 * instead of twenty. Packages (zod) stay outside it, loaded only by the tasks that use them.
 */
const RUNNER_DIR = join(packageRoot(import.meta.url), 'dist', 'runner');
const CHILD_ENTRY = join(RUNNER_DIR, 'child.bundle.js');
/** The same runner as a startup snapshot, with the task API (runner/build-snapshot.ts). */
const SNAPSHOT = usableSnapshot();

function usableSnapshot(): { blob: string; memoryMb: number } | undefined {
  const blob = join(RUNNER_DIR, 'runner.blob');
  try {
    const built = JSON.parse(readFileSync(`${blob}.json`, 'utf8')) as { node?: unknown; arch?: unknown; memoryMb?: unknown };
    // A blob only starts on the Node that built it; POP_RUNNER_SNAPSHOT=0 runs the plain bundle.
    if (
      built.node !== process.version ||
      built.arch !== process.arch ||
      typeof built.memoryMb !== 'number' ||
      process.env.POP_RUNNER_SNAPSHOT === '0' ||
      !existsSync(blob)
    )
      return undefined;
    return { blob, memoryMb: built.memoryMb };
  } catch {
    return undefined; // not built (a build without it, or a copied dist/): the plain bundle
  }
}

/** How to start the runner for a task with this heap limit: the snapshot is built for one limit. */
function runnerArguments(memoryMb: number): string[] {
  const heap = `--max-old-space-size=${memoryMb}`;
  return SNAPSHOT?.memoryMb === memoryMb ? [heap, '--conditions=pop-runner', '--snapshot-blob', SNAPSHOT.blob] : [heap, CHILD_ENTRY];
}

/** After SIGTERM, a task and what it started get this long to stop on their own before SIGKILL: enough to flush logs. */
export const KILL_GRACE_MS = 2000;
/** After the runner exits, its output and channel get this long to deliver what is still in them (a subprocess that escaped may hold them open). */
const DRAIN_MS = 2000;
/** How often a running task's subprocesses are looked up, so those that leave its group are known before it ends. */
const DESCENDANTS_EVERY_MS = 1000;

export type RunnerExit = { exitCode: number | null; signal: NodeJS.Signals | null; spawnError?: string };

/**
 * A runner child: its own process group, stdout and stderr streamed into a capped console.log, and
 * a private channel on fd 3 (no Node IPC: a task cannot speak Node's internal protocol to the
 * manager). With `letterPath` it runs that task at once; without, it is a standby that waits for
 * a letter over the channel.
 */
export class RunnerProcess {
  readonly child: ChildProcess;
  readonly channel: TaskChannel;
  readonly console: ConsoleCapture;
  /** Resolves once the runner has exited, what it started is ended, and its output is written. */
  readonly ended: Promise<RunnerExit>;
  private exited = false;
  private killTimer: NodeJS.Timeout | undefined;
  /** Subprocesses seen while the runner lived: after it is gone they can no longer be found by parent. */
  private readonly known = new Map<number, ProcessId>();

  constructor(options: { workspace: string; memoryMb: number; consolePath?: string; letterPath?: string }) {
    const args = [...runnerArguments(options.memoryMb), options.workspace, options.letterPath ?? '--standby'];
    this.child = spawn(process.execPath, args, {
      cwd: options.workspace,
      // Without the provider keys: the manager's gateway makes the calls.
      env: taskEnvironment(),
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.console = new ConsoleCapture(options.consolePath);
    this.channel = new TaskChannel(this.child.stdio[3] as Duplex);
    this.console.capture(this.child.stdout, this.child.stderr);
    this.ended = this.watch();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exited && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM the runner, its group and every subprocess it started; SIGKILL what is left after the grace. */
  stop(): void {
    if (this.exited || this.killTimer) return;
    this.lookUpDescendants();
    signalGroup(this.pid, 'SIGTERM');
    signalProcesses(this.known.values(), 'SIGTERM');
    this.killTimer = setTimeout(() => {
      this.lookUpDescendants();
      signalGroup(this.pid, 'SIGKILL');
      signalProcesses(this.known.values(), 'SIGKILL');
    }, KILL_GRACE_MS);
  }

  private lookUpDescendants(): void {
    if (this.pid === undefined || this.exited) return;
    for (const found of findDescendants(this.pid)) this.known.set(found.pid, found);
  }

  private async watch(): Promise<RunnerExit> {
    const watcher = setInterval(() => this.lookUpDescendants(), DESCENDANTS_EVERY_MS);
    watcher.unref();
    const exit = await new Promise<RunnerExit>((resolve) => {
      this.child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
      this.child.once('error', (error) => resolve({ exitCode: null, signal: null, spawnError: error.message }));
    });
    this.exited = true;
    clearInterval(watcher);
    clearTimeout(this.killTimer);
    // Whatever the task started must not outlive it: its group, and those that left the group.
    signalGroup(this.pid, 'SIGKILL');
    signalProcesses(this.known.values(), 'SIGKILL');

    // What the runner wrote just before it exited may still be in the pipes.
    const streams = [this.child.stdout, this.child.stderr].filter((stream) => stream !== null);
    const drained = Promise.all([...streams.map((stream) => (stream.closed ? undefined : once(stream, 'close').catch(() => {}))), this.channel.closed]);
    const timer = new AbortController();
    await Promise.race([drained, delay(DRAIN_MS, undefined, { signal: timer.signal }).catch(() => {})]);
    timer.abort();
    for (const stream of streams) stream.destroy();
    this.channel.destroy();
    // A standby that ended without a task: its output has no file to go to.
    this.console.discard();
    this.console.end();
    await once(this.console, 'finish').catch(() => {});
    return exit;
  }
}
