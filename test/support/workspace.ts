/**
 * Test support: real temp workspaces, the real CLI in real child processes, and polling waits.
 *
 * Nothing here mocks POP: a workspace is a folder under os.tmpdir() with pipeline.json, the task
 * modules and a `node_modules/pop` symlink to the repository (so task modules can
 * `import { defineTask, z } from 'pop'`, which the package exports map to dist/index.js), and the
 * CLI is `node orchestrator/manager.js` run against it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, expect } from 'vitest';
import type { z } from 'zod';
import { RunRecordSchema, type RunRecord } from '../../src/formats/run-record.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO_ROOT, 'orchestrator', 'manager.js');

if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js')) || !existsSync(join(REPO_ROOT, 'dist', 'index.js'))) {
  throw new Error(`POP is not built: run \`npx tsc -p tsconfig.build.json\` in ${REPO_ROOT} before the tests`);
}

/** A temp workspace and the paths of its folders. */
export interface Workspace {
  root: string;
  pipelineFile: string;
  pending: string;
  rejected: string;
  current: string;
  complete: string;
  runsJsonl: string;
  /** A path inside the workspace. */
  path: (...parts: string[]) => string;
}

/** One JSON log line of the manager (`start --json`). */
export type LogEvent = { event: string; level?: string; [key: string]: unknown };

const workspaces: string[] = [];
const daemons = new Set<Daemon>();

afterEach(async () => {
  // Daemons first (they hold files in the workspace), then the folders.
  await Promise.all([...daemons].map((daemon) => daemon.kill()));
  daemons.clear();
  const dirs = workspaces.splice(0);
  if (process.env.POP_TEST_KEEP) {
    if (dirs.length) process.stderr.write(`kept test workspaces:\n${dirs.join('\n')}\n`);
    return;
  }
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })));
});

/**
 * Create a temp workspace. `files` maps paths relative to the workspace to their content: a string
 * is written as is, anything else as pretty JSON. pipeline-pending/, -current/ and -complete/ are
 * created, and `node_modules/pop` links to the repository.
 */
export async function makeWorkspace(files: Record<string, string | object>): Promise<Workspace> {
  const root = await mkdtemp(join(tmpdir(), 'pop-test-'));
  workspaces.push(root);
  const ws = workspaceAt(root);
  await Promise.all([ws.pending, ws.current, ws.complete, join(root, 'node_modules')].map((dir) => mkdir(dir, { recursive: true })));
  await symlink(REPO_ROOT, join(root, 'node_modules', 'pop'), 'dir');
  for (const [relativePath, content] of Object.entries(files)) {
    const target = join(root, relativePath);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
  return ws;
}

/**
 * The example pipeline as POP ships it (templates/example/, what `pop init` copies), into a
 * workspace: for the example's own tests only. Other tests build their own tasks, so a user who
 * edits the clone's pipeline.json or pipeline-tasks/ still has a green `npm test`.
 */
export const EXAMPLE_TEMPLATE = join(REPO_ROOT, 'templates', 'example');
export async function copyExample(ws: Workspace): Promise<void> {
  await cp(EXAMPLE_TEMPLATE, ws.root, { recursive: true });
}

/** An empty temp folder, removed after the test like a workspace (for `pop init` and the like). */
export async function makeTempDir(prefix = 'pop-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  workspaces.push(dir);
  return dir;
}

export function workspaceAt(root: string): Workspace {
  const pending = join(root, 'pipeline-pending');
  const complete = join(root, 'pipeline-complete');
  return {
    root,
    pipelineFile: join(root, 'pipeline.json'),
    pending,
    rejected: join(pending, 'rejected'),
    current: join(root, 'pipeline-current'),
    complete,
    runsJsonl: join(complete, 'runs.jsonl'),
    path: (...parts) => join(root, ...parts),
  };
}

/** pipeline-tasks/index.js registering `<name>.js` modules under their names. */
export function registryModule(names: string[], extra = ''): string {
  const ident = (name: string) => `task_${name.replace(/[^a-zA-Z0-9]/g, '_')}`;
  return [
    ...names.map((name) => `import ${ident(name)} from './${name}.js';`),
    extra,
    `export default { ${names.map((name) => `${JSON.stringify(name)}: ${ident(name)}`).join(', ')} };`,
    '',
  ].join('\n');
}

/** Parse the JSON lines of a manager's stdout; other lines are ignored. */
export function parseEvents(stdout: string): LogEvent[] {
  const events: LogEvent[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (value && typeof value === 'object' && typeof (value as LogEvent).event === 'string') events.push(value as LogEvent);
    } catch {
      // not a log line
    }
  }
  return events;
}

function cliArgs(ws: Workspace, args: string[]): string[] {
  const [command, ...rest] = args;
  if (command === 'start') return ['start', ...(rest.includes('--json') ? [] : ['--json']), '--root', ws.root, ...rest];
  if (command === 'submit') return [...args, '--root', ws.root];
  return args;
}

/** A one-step task with a schema: `{ answer }` from the seed's `q`. */
export const ASK_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ answer: z.string().min(1) }),
  prompt: ({ seed }) => \`Answer: \${seed.q}\`,
});
`;

/** Runs until the test creates <workspace>/gate; gives up if told to stop. */
export const GATED_TASK = `import { existsSync } from 'node:fs';
import { defineTask, z } from 'pop';
const gate = new URL('../gate', import.meta.url);
export default defineTask({
  output: z.object({ answer: z.string().min(1) }),
  prompt: async ({ seed }, ctx) => {
    while (!existsSync(gate)) {
      if (ctx.signal.aborted) throw new Error('stopped before the gate opened');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return \`Answer: \${seed.q}\`;
  },
});
`;

export interface PopResult {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  events: LogEvent[];
}

/**
 * Run the CLI against a workspace and wait for it to exit. `start` gets `--json` and `--root`,
 * `submit` gets `--root`. Never rejects: look at exitCode.
 */
export function runPop(ws: Workspace, args: string[], options: { timeoutMs?: number } = {}): Promise<PopResult> {
  return runPopWithEnv(ws, args, {}, options);
}

function spawnCli(ws: Workspace, args: string[]) {
  return execa(process.execPath, [CLI, ...cliArgs(ws, args)], {
    cwd: ws.root,
    reject: false,
    stdin: 'ignore',
    forceKillAfterDelay: false,
  });
}
export type DaemonProcess = ReturnType<typeof spawnCli>;

export interface Daemon {
  subprocess: DaemonProcess;
  /** Every JSON log line so far, in order. */
  events: LogEvent[];
  stdout: () => string;
  stderr: () => string;
  /** Whether the process has exited. */
  exited: () => boolean;
  /** Wait for a log line with this `event` (and matching `match`), seen at any time since start. */
  waitForEvent: (event: string, match?: (line: LogEvent) => boolean, options?: { timeoutMs?: number }) => Promise<LogEvent>;
  /** Send a signal (the daemon keeps running until it decides to exit). */
  signal: (signal: 'SIGTERM' | 'SIGINT') => void;
  /** Wait for the daemon to exit on its own. */
  exit: () => Promise<PopResult>;
  /** SIGTERM, then wait for the exit. */
  stop: () => Promise<PopResult>;
  /** For cleanup: SIGTERM, and SIGKILL if it does not stop in time. */
  kill: () => Promise<void>;
}

/** `start` without --once, as a daemon; resolves once it is watching pipeline-pending/ (manager-ready). */
export async function startDaemon(ws: Workspace, extraArgs: string[] = []): Promise<Daemon> {
  const subprocess = spawnCli(ws, ['start', ...extraArgs]);
  const events: LogEvent[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  let exited = false;
  subprocess.stdout.setEncoding('utf8');
  subprocess.stderr.setEncoding('utf8');
  subprocess.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    events.push(...parseEvents(lines.join('\n')));
  });
  subprocess.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const finished = subprocess.then((result) => {
    exited = true;
    return result;
  });

  const describe = () => `daemon stdout:\n${stdout}\ndaemon stderr:\n${stderr}`;
  const daemon: Daemon = {
    subprocess,
    events,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: () => exited,
    waitForEvent: (event, match = () => true, options = {}) =>
      waitFor(
        () => {
          const found = events.find((line) => line.event === event && match(line));
          if (found) return found;
          if (exited) throw new StopWaiting(`the daemon exited before logging "${event}"\n${describe()}`);
          return undefined;
        },
        { timeoutMs: options.timeoutMs ?? 20_000, description: () => `log event "${event}"\n${describe()}` },
      ),
    signal: (signal) => {
      subprocess.kill(signal);
    },
    exit: async () => {
      const result = await finished;
      daemons.delete(daemon);
      return { exitCode: result.exitCode, signal: result.signal, stdout, stderr, events: parseEvents(stdout) };
    },
    stop: () => {
      subprocess.kill('SIGTERM');
      return daemon.exit();
    },
    kill: async () => {
      if (exited) return;
      subprocess.kill('SIGTERM');
      const timer = setTimeout(() => subprocess.kill('SIGKILL'), 15_000);
      await finished;
      clearTimeout(timer);
    },
  };
  daemons.add(daemon);
  await daemon.waitForEvent('manager-ready');
  return daemon;
}

/** Thrown from a waitFor condition to give up at once (e.g. the process being waited on died). */
export class StopWaiting extends Error {}

/**
 * Poll `condition` until it returns a truthy value, and return that value. A condition that throws
 * counts as "not yet" (a file not there yet); its last error is reported on timeout.
 */
export async function waitFor<T>(
  condition: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: { timeoutMs?: number; intervalMs?: number; description?: string | (() => string) } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
    } catch (error) {
      if (error instanceof StopWaiting) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const what = typeof options.description === 'function' ? options.description() : (options.description ?? 'condition');
      const last = lastError ? `\nlast error: ${lastError instanceof Error ? lastError.message : String(lastError)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    }
    await new Promise((done) => setTimeout(done, intervalMs));
  }
}

/** Read a JSON file and check it against its schema (throws, naming the file, if it does not fit). */
export async function readValid<S extends z.ZodType>(schema: S, path: string): Promise<z.output<S>> {
  const text = await readFile(path, 'utf8');
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path} does not match its schema: ${parsed.error.message}`);
  return parsed.data;
}

export async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8')) as unknown;
}

/** runs.jsonl, every line checked against RunRecordSchema; [] when there is no file yet. */
export async function readRunRecords(ws: Workspace): Promise<RunRecord[]> {
  let text: string;
  try {
    text = await readFile(ws.runsJsonl, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  expect(text === '' || text.endsWith('\n'), 'runs.jsonl ends with a newline').toBe(true);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line, index) => {
      const parsed = RunRecordSchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`runs.jsonl line ${index + 1} does not match RunRecordSchema: ${parsed.error.message}`);
      return parsed.data;
    });
}

/** Sorted entries of a folder; [] when it does not exist. */
export async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Run folders (not files like runs.jsonl, not hidden temp entries) directly under a folder. */
export async function runDirs(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
}

/** Seed files left in pipeline-pending/ (not the rejected/ folder). */
export async function pendingSeeds(ws: Workspace): Promise<string[]> {
  return (await listDir(ws.pending)).filter((name) => name !== 'rejected' && name !== 'duplicates');
}

// ---------------------------------------------------------------------------------------------
// Crash, hostile-input and isolation tests: the CLI with its own environment, and processes.

/**
 * Like runPop, with extra environment variables for the CLI process (e.g. POP_CRASH_AT), added to
 * the test's own environment.
 */
export async function runPopWithEnv(ws: Workspace, args: string[], env: Record<string, string>, options: { timeoutMs?: number } = {}): Promise<PopResult> {
  const result = await execa(process.execPath, [CLI, ...cliArgs(ws, args)], {
    cwd: ws.root,
    reject: false,
    stdin: 'ignore',
    env,
    timeout: options.timeoutMs ?? 50_000,
  });
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: result.stdout,
    stderr: result.stderr,
    events: parseEvents(result.stdout),
  };
}

/** SIGKILL a daemon (as a power cut would) and wait until it is gone. */
export async function killDaemonHard(daemon: Daemon): Promise<PopResult> {
  daemon.subprocess.kill('SIGKILL');
  return daemon.exit();
}

/**
 * Whether a process is still running: it exists and is not a zombie (a killed process whose new
 * parent has not reaped it yet is gone for every purpose that matters here).
 */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A runner child (`node .../runner/child.bundle.js <workspace> <letter | --standby>`, or `--snapshot-blob .../runner/runner.blob ...`) found by `ps`. */
export interface RunnerChild {
  pid: number;
  ppid: number;
  /** The letter.json it runs, or '--standby'. */
  target: string;
}

/**
 * The live runner children working on this workspace, whoever their parent is, read from /proc
 * (whole command lines: `ps` cuts them to $COLUMNS when it is set).
 */
export async function runnerChildren(ws: Workspace): Promise<RunnerChild[]> {
  const children: RunnerChild[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    let stat: string;
    try {
      args = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      stat = await readFile(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // The runner is started from its snapshot or its bundle (npm run build); child.js is the same code unbundled.
    const script = args.findIndex((arg) => ['runner.blob', 'child.bundle.js', 'child.js'].some((file) => arg.endsWith(join('runner', file))));
    if (script < 0 || args[script + 1] !== ws.root) continue;
    const pid = Number(entry);
    // "pid (comm) state ppid ...": the fields after the last ')'.
    const [, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (isProcessRunning(pid))
      children.push({
        pid,
        ppid: Number(ppid),
        target: args
          .slice(script + 2)
          .filter((arg) => arg !== '')
          .join(' '),
      });
  }
  return children;
}

/** Write a file the way an editor's safe save does: whole, under a temp name, then renamed into place. */
export async function replaceFile(path: string, content: string | Buffer): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.swap`);
  await writeFile(temp, content);
  await rename(temp, path);
}
