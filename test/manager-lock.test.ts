/**
 * The one-manager-per-workspace lock, and the per-run locks built the same way: a lock left by a
 * dead process (or a zombie one) is taken over, and when several processes take it over at once
 * exactly one of them gets it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { hasRedis, startRedis } from './support/redis.js';
import {
  ASK_TASK,
  CLI,
  parseEvents,
  REPO_ROOT,
  isProcessRunning,
  makeWorkspace,
  pendingSeeds,
  readRunRecords,
  registryModule,
  runDirs,
  waitFor,
  type Workspace,
} from './support/workspace.js';
import { execa } from 'execa';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** The pid of a process that has exited and been reaped: nobody holds it now. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

async function writeStaleLock(path: string): Promise<number> {
  const pid = deadPid();
  await writeFile(path, JSON.stringify({ pid, command: 'start', acquiredAt: new Date(0).toISOString() }));
  return pid;
}

/** A process that takes the lock when told to ("go" on stdin) and says whether it won. */
const CONTENDER = `
import { acquireLock } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'fs', 'lock-file.js'))};
import { createInterface } from 'node:readline';
let lock;
const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  if (line === 'go') {
    lock = await acquireLock(process.argv[1], 'contender');
    process.stdout.write(lock.ok ? 'won\\n' : 'lost\\n');
  } else if (line === 'release') {
    if (lock?.ok) await lock.value.release();
    process.exit(0);
  }
});
process.stdout.write('ready\\n');
`;

function contender(lockPath: string): { child: ChildProcess; next: () => Promise<string> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CONTENDER, lockPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  started.push(child);
  const lines = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  lines.on('line', (line) => (waiters.length ? waiters.shift()!(line) : queue.push(line)));
  return { child, next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiters.push(resolve))) };
}

describe('a stale lock taken over by several processes at once', () => {
  it('goes to exactly one of them, every time', { timeout: 180_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pop-lock-'));
    try {
      const lockPath = join(dir, 'x.lock');
      for (let round = 0; round < 10; round++) {
        await writeStaleLock(lockPath);
        const contenders = Array.from({ length: 6 }, () => contender(lockPath));
        expect(await Promise.all(contenders.map((c) => c.next()))).toEqual(Array(6).fill('ready'));
        // All at once: one write each, as close together as the test can make them.
        for (const c of contenders) c.child.stdin!.write('go\n');
        const outcomes = await Promise.all(contenders.map((c) => c.next()));
        expect(
          outcomes.filter((outcome) => outcome === 'won'),
          `round ${round}: ${outcomes.join(' ')}`,
        ).toHaveLength(1);
        for (const c of contenders) c.child.stdin!.write('release\n');
        await Promise.all(contenders.map((c) => new Promise((resolve) => (c.child.exitCode === null ? c.child.once('exit', resolve) : resolve(null)))));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function managerWorkspace(seeds: number): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': { name: 'locks', tasks: ['ask'] },
    'pipeline-tasks/index.js': registryModule(['ask']),
    'pipeline-tasks/ask.js': ASK_TASK,
    ...Object.fromEntries(Array.from({ length: seeds }, (_, i) => [`pipeline-pending/s${i}.json`, { q: `question ${i}` }])),
  });
}

/** `start` as a daemon whose JSON log lines are collected; does not wait for anything. */
function startManager(ws: Workspace) {
  const child = execa(process.execPath, [CLI, 'start', '--json', '--root', ws.root], { cwd: ws.root, reject: false, stdin: 'ignore' });
  let stdout = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => (stdout += chunk));
  let exited = false;
  const finished = child.then((result) => {
    exited = true;
    return result;
  });
  return { child, finished, exited: () => exited, stdout: () => stdout };
}

describe('two managers started together on a workspace with a stale lock', () => {
  it('never both run, and every seed completes exactly once', { timeout: 420_000 }, async () => {
    const SEEDS = 2;
    for (let attempt = 0; attempt < 12; attempt++) {
      const ws = await managerWorkspace(SEEDS);
      await writeStaleLock(join(ws.current, '.manager.lock'));
      const managers = [startManager(ws), startManager(ws)];
      // Each either gets the lock (and logs manager-ready) or is refused and exits.
      await waitFor(() => managers.every((m) => m.exited() || m.stdout().includes('"event":"manager-ready"')), {
        timeoutMs: 40_000,
        description: () => `both managers to start or be refused\n${managers.map((m) => m.stdout()).join('\n---\n')}`,
      });
      const up = managers.filter((m) => !m.exited());
      expect(up, `attempt ${attempt}: managers up`).toHaveLength(1);
      const refused = await managers.find((m) => m.exited())!.finished;
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(/another manager \(pid \d+, "start"\) is already working on/);

      await waitFor(async () => (await readRunRecords(ws)).length === SEEDS && (await pendingSeeds(ws)).length === 0, {
        timeoutMs: 40_000,
        description: `${SEEDS} runs in runs.jsonl`,
      });
      up[0]!.child.kill('SIGTERM');
      await up[0]!.finished;
      const records = await readRunRecords(ws);
      expect(records.map((record) => record.seed).sort()).toEqual(Array.from({ length: SEEDS }, (_, i) => `s${i}.json`));
      expect(await runDirs(ws.complete)).toHaveLength(SEEDS);
    }
  });
});

describe('a lock whose holder is a zombie (killed, not yet reaped)', () => {
  it('is free the moment its holder is killed: a manager starts though the zombie keeps its pid', async () => {
    const ws = await managerWorkspace(0);
    // A real manager holds the lock; its parent execs into a program that never reaps children, so
    // once killed the manager stays a zombie, and the lock file still names its pid.
    const holder = spawn('sh', ['-c', `"${process.execPath}" "${CLI}" start --json --root "${ws.root}" & echo "pid=$!"; exec sleep 60`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    started.push(holder);
    let output = '';
    holder.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const manager = await waitFor(() => (output.includes('"event":"manager-ready"') ? Number(/pid=(\d+)/.exec(output)?.[1]) : undefined), {
      description: () => `the manager to be ready\n${output}`,
    });

    const refused = await execa(process.execPath, [CLI, 'start', '--once', '--json', '--root', ws.root], { cwd: ws.root, reject: false, stdin: 'ignore' });
    expect(refused.exitCode, 'the live holder keeps a second manager out').toBe(2);
    expect(refused.stderr).toContain(`another manager (pid ${manager}, "start")`);

    process.kill(manager, 'SIGKILL');
    await waitFor(() => !isProcessRunning(manager), { description: `pid ${manager} to become a zombie` });
    expect(() => process.kill(manager, 0), 'the zombie still has its pid').not.toThrow();
    expect(JSON.parse(await readFile(join(ws.current, '.manager.lock'), 'utf8'))).toMatchObject({ pid: manager });

    await writeFile(join(ws.pending, 's0.json'), JSON.stringify({ q: 'after the zombie' }));
    const result = await execa(process.execPath, [CLI, 'start', '--once', '--json', '--root', ws.root], { cwd: ws.root, reject: false, stdin: 'ignore' });
    expect(result.exitCode, result.stderr).toBe(0);
    expect((await readRunRecords(ws)).map((record) => record.seed)).toEqual(['s0.json']);
  });
});

/** Another "host": its own network namespace (so its own abstract sockets) and host name, the same files. */
const canUnshare = spawnSync('unshare', ['--net', '--uts', 'true']).status === 0;
const STALE_MS = 4000;

function onOtherHost(ws: Workspace, args: string[]) {
  return execa('unshare', ['--net', '--uts', 'sh', '-c', 'hostname pop-other-host && exec "$0" "$@"', process.execPath, CLI, ...args, '--root', ws.root], {
    cwd: ws.root,
    reject: false,
    stdin: 'ignore',
    env: { POP_LOCK_STALE_MS: String(STALE_MS) },
  });
}

describe.skipIf(!canUnshare && process.env.CI !== 'true')('managers on two hosts sharing a workspace (needs root for unshare --net --uts)', () => {
  it('the second host refuses while the first manager runs, and takes over once its heartbeat has stopped', { timeout: 120_000 }, async () => {
    const ws = await managerWorkspace(1);
    const first = execa(process.execPath, [CLI, 'start', '--json', '--root', ws.root], {
      cwd: ws.root,
      reject: false,
      stdin: 'ignore',
      env: { POP_LOCK_STALE_MS: String(STALE_MS) },
    });
    let stdout = '';
    first.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await waitFor(() => stdout.includes('"event":"manager-ready"') && stdout.includes('"event":"run-complete"'), {
      description: () => `the first manager to run its seed\n${stdout}`,
    });

    const refused = await onOtherHost(ws, ['start', '--once', '--json']);
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/another manager \(pid \d+, "start", on host \S+\) is already working on/);

    first.kill('SIGKILL');
    await first;
    // Its lock file stays behind; the other host takes it over once the heartbeat is older than the limit.
    const second = await waitFor(
      async () => {
        const result = await onOtherHost(ws, ['start', '--once', '--json']);
        return result.exitCode === 0 ? result : undefined;
      },
      { timeoutMs: STALE_MS + 20_000, intervalMs: 200, description: 'the other host to take the workspace over' },
    );
    expect(second.stdout).toContain('"event":"lock-taken-over"');
    expect(second.stdout).toContain(`"pid":${first.pid}`);
  });
  it('a manager whose lock another host has taken over (its heartbeat had stopped) says so and stops', { timeout: 60_000 }, async () => {
    const ws = await managerWorkspace(0);
    const first = execa(process.execPath, [CLI, 'start', '--json', '--root', ws.root], {
      cwd: ws.root,
      reject: false,
      stdin: 'ignore',
      env: { POP_LOCK_STALE_MS: String(STALE_MS) },
    });
    let stdout = '';
    first.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await waitFor(() => stdout.includes('"event":"manager-ready"'), { description: () => `the manager to start\n${stdout}` });
    // What a manager on another host writes when it takes a stale lock over.
    const now = new Date().toISOString();
    await writeFile(
      join(ws.current, '.manager.lock'),
      JSON.stringify({ pid: 4242, command: 'start', acquiredAt: now, host: 'pop-other-host', heartbeatAt: now }),
    );
    const result = await first;
    expect(result.exitCode).toBe(0);
    expect(stdout).toContain('"event":"lock-lost"');
    expect(stdout).toContain('"host":"pop-other-host"');
    expect(stdout).toContain('"event":"manager-stopped"');
  });

  it.skipIf(!hasRedis)(
    "with --queue (Redis on a Unix socket both hosts reach): the other host's manager is refused, and its resume hands the run to the manager holding the lease",
    { timeout: 120_000 },
    async () => {
      const redis = await startRedis({ unixSocket: true });
      const ws = await makeWorkspace({
        'pipeline.json': { name: 'locks', tasks: ['flaky'] },
        'pipeline-tasks/index.js': registryModule(['flaky']),
        'pipeline-tasks/flaky.js': FLAKY_TASK,
        'pipeline-pending/s0.json': { q: 'question' },
      });
      const env = { POP_LOCK_STALE_MS: String(STALE_MS) };
      const first = execa(process.execPath, [CLI, 'start', '--json', '--root', ws.root, '--queue', redis.url], {
        cwd: ws.root,
        reject: false,
        stdin: 'ignore',
        env,
      });
      const worker = execa(process.execPath, [CLI, 'worker', '--root', ws.root, '--queue', redis.url], { cwd: ws.root, reject: false, stdin: 'ignore', env });
      let stdout = '';
      first.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      try {
        const failed = await waitFor(() => parseEvents(stdout).find((line) => line.event === 'run-failed'), {
          description: () => `the run to fail once\n${stdout}`,
        });

        const refused = await onOtherHost(ws, ['start', '--once', '--json', '--queue', redis.url]);
        expect(refused.exitCode, refused.stderr).toBe(2);
        expect(refused.stderr).toMatch(/another manager .* (holds this workspace's lease in Redis|is already working on)/);

        await writeFile(ws.path('gate'), '');
        const resumed = await onOtherHost(ws, ['resume', String(failed.run), '--json', '--queue', redis.url]);
        expect(resumed.exitCode, resumed.stderr).toBe(0);
        expect(resumed.stdout).toContain(`handed run ${String(failed.run)} to the running manager (pid ${first.pid})`);
        await waitFor(() => parseEvents(stdout).some((line) => line.event === 'run-complete' && line.run === failed.run), {
          description: () => `the first manager to complete the resumed run\n${stdout}`,
        });
      } finally {
        first.kill('SIGKILL');
        worker.kill('SIGKILL');
        await Promise.all([first, worker]);
        await redis.close();
      }
    },
  );
});

/** Throws until <workspace>/gate exists: the run fails, and a resume after the gate opens completes it. */
const FLAKY_TASK = `import { existsSync } from 'node:fs';
import { defineTask, z } from 'pop';
const gate = new URL('../gate', import.meta.url);
export default defineTask({
  output: z.object({ answer: z.string().min(1) }),
  prompt: ({ seed }) => {
    if (!existsSync(gate)) throw new Error('the gate is closed');
    return \`Answer: \${seed.q}\`;
  },
});
`;
