/**
 * `start --queue` and `pop worker`: task attempts through BullMQ on a real redis-server, with the
 * manager and the workers as separate real processes sharing one workspace folder.
 */
import { readdir, readFile, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import { pop, taskSource, TASK_SLEEP, type BackgroundCli } from './support/cli.js';
import { GOOD_VALUE, JSON_TASK, jsonReply, popEnv, startFakeLlm } from './support/fake-llm-server.js';
import { hasRedis, INSTALL_REDIS, queueProcesses } from './support/redis.js';
import { describeWith } from './support/prerequisites.js';
import {
  ASK_TASK,
  isProcessRunning,
  makeWorkspace,
  readRunRecords,
  readValid,
  registryModule,
  runDirs,
  runnerChildren,
  waitFor,
  type Workspace,
} from './support/workspace.js';

/** Short lock and stalled-check times, so a killed worker's jobs are noticed within seconds (long enough for a busy machine to renew them). */
const QUEUE_ENV = { POP_QUEUE_LOCK_MS: '4000' };
const KEY = 'sk-test-queue';

const SLOW_TASK = taskSource(
  `  output: z.object({ answer: z.string().min(1) }),
  prompt: async ({ seed }) => { await sleep(1500); return \`Answer: \${seed.q}\`; },`,
  TASK_SLEEP,
);

// Starts a subprocess in a session of its own that ignores SIGTERM, writes its pid, then hangs.
const HANGING_TASK = `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
export default {
  prompt: async () => {
    const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);"], { stdio: 'ignore', detached: true });
    child.unref();
    writeFileSync(new URL('../hang.pid', import.meta.url), String(child.pid));
    await new Promise(() => setInterval(() => {}, 1000));
  },
};
`;

function workspaceWith(
  tasks: Array<Record<string, unknown>>,
  modules: Record<string, string>,
  seeds: number,
  extra: Record<string, unknown> = {},
): Promise<Workspace> {
  const files: Record<string, string | object> = {
    'pipeline.json': { name: 'queued', tasks, ...extra },
    'pipeline-tasks/index.js': registryModule(Object.keys(modules)),
  };
  for (const [name, source] of Object.entries(modules)) files[`pipeline-tasks/${name}.js`] = source;
  for (let i = 0; i < seeds; i++) files[`pipeline-pending/s${String(i).padStart(2, '0')}.json`] = { q: `Question ${i}?` };
  return makeWorkspace(files);
}

/** A second path to the same folder, with the same folder name, as a shared file system mounted elsewhere. */
async function otherPathTo(ws: Workspace): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'pop-mount-'));
  const path = join(parent, basename(ws.root));
  await symlink(ws.root, path, 'dir');
  return path;
}

const { redis, background } = queueProcesses(() => ({ ...popEnv({ OPENAI_API_KEY: KEY }), ...QUEUE_ENV }));

const worker = (ws: Workspace, root: string, concurrency = 3) =>
  background(ws, ['worker', '--queue', redis().url, '--root', root, '--concurrency', String(concurrency)]);
const manager = (ws: Workspace, args: string[] = ['--once']) =>
  background(ws, ['start', '--json', '--root', ws.root, '--queue', redis().url, '--concurrency', '6', ...args]);

/** Jobs a worker took, from its log: "took <run>.<task>.<attempt>". */
const taken = (cli: BackgroundCli) => [...cli.stderr().matchAll(/took (\S+)/g)].map((match) => match[1] as string);

async function completedStatuses(ws: Workspace) {
  const records = await readRunRecords(ws);
  return Promise.all(records.map((record) => readValid(RunStatusSchema, join(ws.complete, record.id, 'tasks-status.json'))));
}

async function workerLines(ws: Workspace, run: string, task: string): Promise<string[]> {
  const log = await readFile(join(ws.complete, run, 'tasks', task, 'task.log'), 'utf8');
  return log.split('\n').filter((line) => line.includes('"event":"worker"'));
}

describeWith({ present: hasRedis, what: 'redis-server', install: INSTALL_REDIS }, 'task attempts through a queue', () => {
  it('30 seeds × 3 tasks, a manager and two workers with their own --root: every run complete exactly once, tasks on both workers', async () => {
    const ws = await workspaceWith(
      ['a', 'b', 'c'].map((name) => ({ name, task: 'ask' })),
      { ask: ASK_TASK },
      30,
    );
    const workers = [worker(ws, ws.root), worker(ws, await otherPathTo(ws))];
    const result = await manager(ws).done();
    expect(result.exitCode, result.stderr).toBe(0);

    const records = await readRunRecords(ws);
    expect(records).toHaveLength(30);
    expect(new Set(records.map((record) => record.id)).size).toBe(30);
    const statuses = await completedStatuses(ws);
    const workersSeen = new Set<string>();
    for (const status of statuses) {
      expect(status.state).toBe('complete');
      for (const name of ['a', 'b', 'c']) {
        const task = status.tasks[name]!;
        expect(task).toMatchObject({ state: 'complete', attempts: 1, worker: expect.stringMatching(/:\d+$/) });
        workersSeen.add(task.worker!);
        // task.log says where the attempt ran, once.
        expect(await workerLines(ws, status.id, name)).toHaveLength(1);
      }
    }
    expect(workersSeen.size).toBe(2);
    // status shows where each task ran.
    const shown = await pop(ws, ['status', statuses[0]!.id]);
    expect(shown.stdout).toMatch(/WORKER/);
    expect(shown.stdout).toContain(statuses[0]!.tasks.a!.worker!);
    const jobs = workers.flatMap(taken);
    expect(jobs).toHaveLength(90);
    expect(new Set(jobs).size).toBe(90);
  }, 180_000);

  it('a worker SIGKILLed while it runs tasks: those tasks finish on the other worker, as a new attempt, exactly once', async () => {
    const ws = await workspaceWith([{ name: 'slow', task: 'slow' }], { slow: SLOW_TASK }, 6);
    const doomed = worker(ws, ws.root, 3);
    const run = manager(ws);
    await waitFor(() => taken(doomed).length === 3, { description: () => `the first worker taking 3 jobs\n${doomed.stderr()}` });
    const doomedTook = taken(doomed);
    doomed.subprocess.kill('SIGKILL');
    await doomed.done();
    const survivor = worker(ws, await otherPathTo(ws), 3);

    const result = await run.done();
    expect(result.exitCode, result.stderr).toBe(0);
    const records = await readRunRecords(ws);
    expect(new Set(records.map((record) => record.id)).size).toBe(6);
    expect(records).toHaveLength(6);
    const survivorName = (await completedStatuses(ws)).map((status) => status.tasks.slow!.worker);
    for (const status of await completedStatuses(ws)) {
      const task = status.tasks.slow!;
      const wasOnDoomed = doomedTook.some((id) => id.startsWith(`${status.id}.`));
      // The killed worker's attempts failed as "killed"; the next attempt ran on the other worker.
      expect(task).toMatchObject({ state: 'complete', attempts: wasOnDoomed ? 2 : 1 });
    }
    expect(new Set(survivorName).size).toBe(1);
    const survivorJobs = taken(survivor);
    expect(new Set(survivorJobs).size).toBe(survivorJobs.length);
    expect(
      survivorJobs
        .filter((id) => id.endsWith('.2'))
        .map((id) => id.replace(/\.2$/, '.1'))
        .sort(),
    ).toEqual([...doomedTook].sort());
  }, 120_000);

  it.each(['SIGKILL', 'SIGTERM'] as const)(
    'the manager stopped by %s mid-run and started again: it waits on the jobs already queued or takes their output, every task runs once',
    async (signal) => {
      const ws = await workspaceWith(
        [
          { name: 'slow', task: 'slow' },
          { name: 'ask', task: 'ask' },
        ],
        { slow: SLOW_TASK, ask: ASK_TASK },
        8,
      );
      const workers = [worker(ws, ws.root, 2), worker(ws, ws.root, 2)];
      const first = manager(ws);
      await first.waitForEvent('task-complete');
      first.subprocess.kill(signal);
      await first.done();
      const second = await manager(ws).done();
      expect(second.exitCode, second.stderr).toBe(0);

      const records = await readRunRecords(ws);
      expect(records).toHaveLength(8);
      expect(new Set(records.map((record) => record.id)).size).toBe(8);
      const jobs = workers.flatMap(taken);
      // One job per task of each run: none queued twice, none run twice.
      expect(jobs).toHaveLength(16);
      expect(new Set(jobs.map((id) => id.replace(/\.\d+$/, ''))).size).toBe(16);
    },
    120_000,
  );

  it('a provider limit shared by three workers: a server allowing 2 requests a second answers no 429 at 1 a second from all together', async () => {
    const fake = await startFakeLlm();
    fake.limitRate(2);
    fake.always(jsonReply(GOOD_VALUE));
    const ws = await workspaceWith([{ name: 'a', task: 'ask', model: 'oai:gpt-test' }], { ask: JSON_TASK }, 12, {
      // 60 a minute is 1 a second: half the limit once (room for a busy machine's jitter), over it if each of the three workers kept its own.
      providers: { oai: { type: 'openai', baseURL: fake.openaiBaseURL, apiKeyEnv: 'OPENAI_API_KEY', maxRetries: 0, limits: { requestsPerMinute: 60 } } },
    });
    for (let i = 0; i < 3; i++) worker(ws, ws.root, 4);
    const result = await manager(ws, ['--once', '--concurrency', '12']).done();
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.requests).toHaveLength(12);
    expect(fake.rateLimitedCount()).toBe(0);
  }, 120_000);

  it('Redis stopped and started again mid-run: the runs complete once it is back', async () => {
    const ws = await workspaceWith(
      [
        { name: 'slow', task: 'slow' },
        { name: 'ask', task: 'ask' },
      ],
      { slow: SLOW_TASK, ask: ASK_TASK },
      6,
    );
    worker(ws, ws.root, 3);
    worker(ws, ws.root, 3);
    const run = manager(ws);
    await run.waitForEvent('task-started');
    await redis().stop();
    await redis().start();
    const result = await run.done();
    expect(result.exitCode, result.stderr).toBe(0);
    const records = await readRunRecords(ws);
    expect(records).toHaveLength(6);
    expect(new Set(records.map((record) => record.id)).size).toBe(6);
  }, 120_000);

  it('Redis unreachable at start: a clear error naming the URL, exit 2', async () => {
    const ws = await workspaceWith([{ name: 'a', task: 'ask' }], { ask: ASK_TASK }, 1);
    const url = `redis://127.0.0.1:${redis().port}`;
    await redis().stop();
    for (const args of [
      ['start', '--once', '--root', ws.root, '--queue', url],
      ['worker', '--root', ws.root, '--queue', url],
    ]) {
      const result = await background(ws, args).done();
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(`cannot reach Redis at ${url}`);
    }
    // The seed stays pending.
    expect(await readdir(ws.pending)).toContain('s00.json');
  }, 60_000);

  it('Redis refusing the job: the task shows as waiting with the reason, start --once ends leaving the run queued, and it completes once Redis takes it', async () => {
    const ws = await workspaceWith([{ name: 'a', task: 'ask' }], { ask: ASK_TASK }, 1);
    const admin = new Redis(redis().url);
    // A user that may keep the manager's lease but may not touch the queue's keys: every job is refused.
    const url = redis().url.replace('redis://', 'redis://pop:queue-secret@');
    try {
      await admin.call('ACL', 'SETUSER', 'pop', 'on', '>queue-secret', '~*:manager-*', '+@all');
      const refused = await background(ws, ['start', '--json', '--root', ws.root, '--queue', url, '--once']).done();
      expect(refused.exitCode, refused.stderr).toBe(0);
      const waits = refused.events.filter((line) => line.event === 'task-waiting' && line.reason === 'queue-refused');
      expect(waits.length).toBeGreaterThan(1);
      expect(String(waits[0]?.message)).toMatch(/Redis refused the task's job: .*NOPERM/);
      expect(refused.events).toContainEqual(expect.objectContaining({ event: 'run-interrupted' }));
      const [run] = await runDirs(ws.current);
      const status = await readValid(RunStatusSchema, join(ws.current, String(run), 'tasks-status.json'));
      expect(status).toMatchObject({ state: 'queued', running: [], tasks: { a: { state: 'pending' } } });

      // Room again: the next start queues the job and a worker runs it.
      await admin.call('ACL', 'SETUSER', 'pop', 'allkeys', 'allchannels');
      background(ws, ['worker', '--queue', url, '--root', ws.root, '--concurrency', '1']);
      const again = await background(ws, ['start', '--json', '--root', ws.root, '--queue', url, '--once']).done();
      expect(again.exitCode, again.stderr).toBe(0);
      expect(await readRunRecords(ws)).toHaveLength(1);
    } finally {
      admin.disconnect();
    }
  }, 120_000);

  it('a Redis refusing every write at start (full at its maxmemory): start --once says so and ends, starting nothing', async () => {
    const ws = await workspaceWith([{ name: 'a', task: 'ask' }], { ask: ASK_TASK }, 1);
    const admin = new Redis(redis().url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      const refused = await manager(ws).done();
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(/refused the manager's lease: .*maxmemory.*trying again in 0\.5 s/s);
      expect(refused.stderr).toMatch(/nothing was started, every run stays as it is for the next start/);
      expect(await runDirs(ws.current)).toEqual([]);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
  }, 60_000);

  it('a worker frozen (SIGSTOP) while it runs a task: the task process and its subprocess stop themselves, so they never run beside the retry', async () => {
    const ws = await workspaceWith([{ name: 'hang', task: 'hang', timeoutMs: 600_000 }], { hang: HANGING_TASK }, 1);
    const frozen = worker(ws, ws.root, 1);
    manager(ws);
    const grandchild = await waitFor(async () => Number(await readFile(ws.path('hang.pid'), 'utf8')) || undefined, {
      timeoutMs: 60_000,
      description: 'hang.pid',
    });
    // The task process is the subprocess's parent.
    const stat = await readFile(`/proc/${grandchild}/stat`, 'utf8');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    expect((await runnerChildren(ws)).map((child) => child.pid)).toContain(parent);
    const pid = frozen.subprocess.pid as number;
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(() => !isProcessRunning(parent), { description: 'the task process of the frozen worker to stop' });
      await waitFor(() => !isProcessRunning(grandchild), { description: 'its subprocess to stop' });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }, 120_000);
});
