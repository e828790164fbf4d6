/**
 * Test support for the operator CLI tests (test/cli-*.test.ts): the CLI run with any arguments,
 * standard input and environment, workspaces shared by the tests of one file, and byte-level
 * snapshots of folders. Builds on ./workspace.ts; nothing here mocks POP.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { expect } from 'vitest';
import { RunStatusSchema, type RunStatus } from '../../src/formats/tasks-status.js';
import { CLI, REPO_ROOT, parseEvents, readValid, runDirs, waitFor, workspaceAt, type LogEvent, type Workspace } from './workspace.js';

export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** The JSON log lines in stdout (start, resume and rerun log them when not on a terminal). */
  events: LogEvent[];
}

export interface CliOptions {
  /** Written to the process's standard input (else it gets none). */
  input?: string;
  /** The environment; with `extendEnv: false` it is the whole environment. */
  env?: NodeJS.ProcessEnv;
  extendEnv?: boolean;
  /** Append `--root <ws>` (default true). */
  root?: boolean;
  timeoutMs?: number;
}

function cliArgs(ws: Workspace, args: string[], options: CliOptions): string[] {
  return [CLI, ...args, ...(options.root === false ? [] : ['--root', ws.root])];
}

function execaOptions(ws: Workspace, options: CliOptions) {
  return {
    cwd: ws.root,
    reject: false,
    timeout: options.timeoutMs ?? 50_000,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    ...(options.env ? { env: options.env } : {}),
    ...(options.extendEnv === undefined ? {} : { extendEnv: options.extendEnv }),
  };
}

/**
 * `node orchestrator/manager.js <args...> --root <ws>` in a real child process; waits for it to
 * exit and never rejects: look at exitCode.
 */
export async function pop(ws: Workspace, args: string[], options: CliOptions = {}): Promise<CliResult> {
  const result = await execa(process.execPath, cliArgs(ws, args, options), execaOptions(ws, options));
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, events: parseEvents(result.stdout) };
}

/** A CLI process left running in the background, with its output collected as it comes. */
export interface BackgroundCli {
  subprocess: ResultPromise;
  stdout: () => string;
  stderr: () => string;
  events: () => LogEvent[];
  /** Wait for a JSON log line with this event (and matching `match`). */
  waitForEvent: (event: string, match?: (line: LogEvent) => boolean) => Promise<LogEvent>;
  /** Wait for the exit. */
  done: () => Promise<CliResult>;
}

export function popInBackground(ws: Workspace, args: string[], options: CliOptions = {}): BackgroundCli {
  const subprocess = execa(process.execPath, cliArgs(ws, args, options), { ...execaOptions(ws, options), buffer: false });
  let stdout = '';
  let stderr = '';
  let exited = false;
  subprocess.stdout?.setEncoding('utf8');
  subprocess.stderr?.setEncoding('utf8');
  subprocess.stdout?.on('data', (chunk: string) => (stdout += chunk));
  subprocess.stderr?.on('data', (chunk: string) => (stderr += chunk));
  const finished = subprocess.then((result) => {
    exited = true;
    return result;
  });
  return {
    subprocess,
    stdout: () => stdout,
    stderr: () => stderr,
    events: () => parseEvents(stdout),
    waitForEvent: (event, match = () => true) =>
      waitFor(
        () => {
          const found = parseEvents(stdout).find((line) => line.event === event && match(line));
          if (found) return found;
          if (exited) throw new Error(`the process exited before logging "${event}"\nstdout:\n${stdout}\nstderr:\n${stderr}`);
          return undefined;
        },
        { description: () => `log event "${event}"\nstdout:\n${stdout}\nstderr:\n${stderr}` },
      ),
    done: async () => {
      const result = await finished;
      return { exitCode: result.exitCode, stdout, stderr, events: parseEvents(stdout) };
    },
  };
}

/**
 * A workspace for the tests of a whole file (built in beforeAll): like makeWorkspace, but not
 * removed after each test; call `remove` in afterAll.
 */
export async function makeSharedWorkspace(files: Record<string, string | object>): Promise<Workspace & { remove: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'pop-cli-test-'));
  const ws = workspaceAt(root);
  await Promise.all([ws.pending, ws.current, ws.complete, join(root, 'node_modules')].map((dir) => mkdir(dir, { recursive: true })));
  await symlink(REPO_ROOT, join(root, 'node_modules', 'pop'), 'dir');
  await writeFiles(ws, files);
  return {
    ...ws,
    remove: async () => {
      if (process.env.POP_TEST_KEEP) return void process.stderr.write(`kept test workspace: ${root}\n`);
      await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

/** Write files into a workspace: a string as is, anything else as pretty JSON. */
export async function writeFiles(ws: Workspace, files: Record<string, string | object>): Promise<void> {
  for (const [relativePath, content] of Object.entries(files)) {
    const target = ws.path(relativePath);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
}

/** Every file under a folder, by path relative to it, with its bytes. */
export async function snapshotTree(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else files.set(relative(dir, path), await readFile(path));
    }
  };
  await walk(dir);
  return new Map([...files.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** Assert two snapshots hold the same files with the same bytes, naming the first difference. */
export function expectSameTree(actual: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [path, bytes] of expected) {
    expect(actual.get(path)?.equals(bytes), `${path} is byte-identical`).toBe(true);
  }
}

/** A run's tasks-status.json, checked against RunStatusSchema. */
export function readStatus(runDir: string): Promise<RunStatus> {
  return readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
}

/** The one run folder in pipeline-current/ (fails the test if there is not exactly one). */
export async function onlyCurrentRun(ws: Workspace): Promise<string> {
  const dirs = await runDirs(ws.current);
  expect(dirs, 'run folders in pipeline-current/').toHaveLength(1);
  return dirs[0]!;
}

/** A task module source (`import { defineTask, z } from 'pop'`) with the given defineTask body. */
export function taskSource(body: string, preamble = ''): string {
  return `import { defineTask, z } from 'pop';\n${preamble}\nexport default defineTask({\n${body}\n});\n`;
}

/** Sleep inside a task's stage: for task modules that must be slow, never for test synchronization. */
export const TASK_SLEEP = `const sleep = (ms) => new Promise((done) => setTimeout(done, ms));`;
