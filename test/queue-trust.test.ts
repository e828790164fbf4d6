/**
 * What a worker trusts: nothing in a job but which attempt it names. Whoever can write to Redis can
 * forge jobs; these tests forge them with a real client, on a real redis-server, against a real
 * manager and worker sharing a workspace.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import { expectSameTree, snapshotTree, writeFiles, type BackgroundCli } from './support/cli.js';
import { GOOD_VALUE, JSON_TASK, jsonReply, popEnv, startFakeLlm } from './support/fake-llm-server.js';
import { hasRedis, INSTALL_REDIS, queueProcesses } from './support/redis.js';
import {
  ASK_TASK,
  makeWorkspace,
  readRunRecords,
  readValid,
  registryModule,
  runnerChildren,
  waitFor,
  workspaceAt,
  type Workspace,
} from './support/workspace.js';

const KEY = 'sk-test-queue-trust';
const QUEUE_ENV = { POP_QUEUE_LOCK_MS: '4000' };

const closers: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function filesWith(
  tasks: Array<Record<string, unknown>>,
  modules: Record<string, string>,
  seeds: number,
  extra: Record<string, unknown> = {},
): Record<string, string | object> {
  const files: Record<string, string | object> = {
    'pipeline.json': { name: 'trust', tasks, ...extra },
    'pipeline-tasks/index.js': registryModule(Object.keys(modules)),
  };
  for (const [name, source] of Object.entries(modules)) files[`pipeline-tasks/${name}.js`] = source;
  for (let i = 0; i < seeds; i++) files[`pipeline-pending/s${i}.json`] = { q: `Question ${i}?` };
  return files;
}

const { redis, background } = queueProcesses(() => ({ ...popEnv({ OPENAI_API_KEY: KEY }), ...QUEUE_ENV }));
const worker = (ws: Workspace, concurrency = 1, env: Record<string, string> = {}) =>
  background(ws, ['worker', '--queue', redis().url, '--root', ws.root, '--concurrency', String(concurrency)], env);
const manager = (ws: Workspace, env: Record<string, string> = {}) =>
  background(ws, ['start', '--json', '--once', '--root', ws.root, '--queue', redis().url], env);
const taken = (cli: BackgroundCli) => [...cli.stderr().matchAll(/took (\S+)/g)].map((match) => match[1] as string);

/** A client of our own on the same Redis, as anyone who can reach it has. */
async function openQueue(): Promise<Queue> {
  const client = new Redis(redis().url, { maxRetriesPerRequest: null });
  closers.push(async () => client.disconnect());
  // The workspace's queue, whatever it is named: the only one on this Redis.
  const names = await waitFor(
    async () => {
      const keys = await client.keys('bull:*:meta');
      return keys.length ? keys.map((key) => key.slice('bull:'.length, -':meta'.length)) : undefined;
    },
    { description: 'the manager creating its queue' },
  );
  expect(names).toHaveLength(1);
  const queue = new Queue(names[0]!, { connection: client });
  closers.unshift(() => queue.close());
  return queue;
}

/** How a job ended: state and reason. */
async function endOf(queue: Queue, id: string): Promise<{ state: string; reason: string }> {
  return waitFor(
    async () => {
      const job = await Job.fromId(queue, id);
      const state = job ? await job.getState() : 'gone';
      if (state !== 'completed' && state !== 'failed') return undefined;
      // Read again: the job fetched before it ended has no failedReason yet.
      return { state, reason: (await Job.fromId(queue, id))?.failedReason ?? '' };
    },
    { description: `job ${id} to end` },
  );
}

describe.skipIf(!hasRedis)(`jobs a worker will not trust (needs redis-server: ${INSTALL_REDIS})`, () => {
  it("a job forged from a real one, its providers pointed at another server with the worker's key variable: refused, the server never called; a forged job for a completed run: refused, its files untouched", async () => {
    const real = await startFakeLlm();
    real.always(jsonReply(GOOD_VALUE));
    const evil = await startFakeLlm();
    evil.always(jsonReply(GOOD_VALUE));
    const ws = await makeWorkspace(
      filesWith([{ name: 'a', task: 'ask', model: 'oai:gpt-test' }], { ask: JSON_TASK }, 1, {
        providers: { oai: { type: 'openai', baseURL: real.openaiBaseURL, apiKeyEnv: 'OPENAI_API_KEY', maxRetries: 0 } },
      }),
    );
    const run = manager(ws);
    const queue = await openQueue();
    const realJob = await waitFor(async () => (await queue.getWaiting())[0], { description: 'the real job' });

    // The real job's data, its providers replaced; taken first (lifo) by a worker that has the key.
    const redirected = { type: 'openai', baseURL: evil.openaiBaseURL, apiKeyEnv: 'OPENAI_API_KEY', maxRetries: 0 };
    await queue.add('task', { ...realJob.data, calls: { ...realJob.data.calls, providers: { oai: redirected } } }, { jobId: 'forged-1', lifo: true });
    const theWorker = worker(ws);
    expect(await endOf(queue, 'forged-1')).toEqual({ state: 'failed', reason: expect.stringMatching(/^job-refused: its data is not a task job/) });
    const result = await run.done();
    expect(result.exitCode, result.stderr).toBe(0);
    expect(evil.requests).toEqual([]);
    expect(real.requests.length).toBeGreaterThan(0);
    expect(theWorker.stderr()).toContain('refused forged-1');

    // The run is complete; a job for its task again (the real one's id and data, paths moved to pipeline-complete/).
    const [record] = await readRunRecords(ws);
    const done = join(ws.complete, record!.id);
    const before = await snapshotTree(done);
    await (await Job.fromId(queue, realJob.id!))!.remove();
    const again = JSON.parse(JSON.stringify(realJob.data).replaceAll('pipeline-current', 'pipeline-complete')) as object;
    await queue.add('task', again, { jobId: realJob.id! });
    expect(await endOf(queue, realJob.id!)).toEqual({
      state: 'failed',
      reason: expect.stringMatching(/^job-refused: run \S+ is not a run folder in pipeline-current/),
    });
    expectSameTree(await snapshotTree(done), before);
    // The worker carries on.
    expect(theWorker.subprocess.exitCode).toBeNull();
  }, 120_000);

  it("two workspaces with the same folder name on one Redis: each worker runs only its own workspace's jobs", async () => {
    const spaces: Workspace[] = [];
    for (const side of ['left', 'right']) {
      const root = join(await mkdtemp(join(tmpdir(), `pop-${side}-`)), 'work');
      await mkdir(root);
      const ws = workspaceAt(root);
      await writeFiles(ws, filesWith([{ name: 'a', task: 'ask' }], { ask: ASK_TASK }, 3));
      spaces.push(ws);
    }
    const workers = spaces.map((ws) => worker(ws, 2));
    const results = await Promise.all(spaces.map((ws) => manager(ws).done()));
    for (const [index, ws] of spaces.entries()) {
      expect(results[index]!.exitCode, results[index]!.stderr).toBe(0);
      const records = await readRunRecords(ws);
      expect(records).toHaveLength(3);
      for (const record of records) {
        const status = await readValid(RunStatusSchema, join(ws.complete, record.id, 'tasks-status.json'));
        expect(status.tasks.a).toMatchObject({ state: 'complete', attempts: 1 });
      }
      const ids = new Set(records.map((record) => record.id));
      const took = taken(workers[index]!);
      expect(took).toHaveLength(3);
      for (const job of took) expect(ids.has(job.split('.')[0]!), `${job} taken by the worker of ${ws.root}`).toBe(true);
    }
  }, 120_000);

  it('a --queue manager starts no task processes of its own', async () => {
    const ws = await makeWorkspace(filesWith([{ name: 'a', task: 'ask' }], { ask: ASK_TASK }, 1));
    const run = manager(ws);
    await run.waitForEvent('task-started');
    // Warm task processes are started before the first task: by now they would be there.
    expect(await runnerChildren(ws)).toEqual([]);
    worker(ws);
    expect((await run.done()).exitCode).toBe(0);
  }, 60_000);

  it('Redis loses its data while a task runs: the task is judged, and queued again, only once that attempt has ended; it runs once', async () => {
    const ws = await makeWorkspace(filesWith([{ name: 'a', task: 'traced' }], { traced: TRACED_TASK }, 1));
    // Job locks outlast the test: the worker does not stop the task itself when Redis forgets the job.
    const env = { POP_QUEUE_LOCK_MS: '60000' };
    const theWorker = worker(ws, 2, env);
    const run = manager(ws, env);
    await waitFor(async () => (await readFile(ws.path('trace.log'), 'utf8').catch(() => '')).includes('start'), { description: 'the task to start' });
    const client = new Redis(redis().url);
    closers.push(async () => client.disconnect());
    await client.flushall();
    // The manager has noticed (or, as it once did, queued the task again while it ran).
    await waitFor(() => run.events().some((line) => line.event === 'task-job-lost') || taken(theWorker).some((id) => /[.:]2$/.test(id)), {
      description: () => `the manager to notice the lost job\n${run.stdout()}`,
    });
    await writeFile(ws.path('gate'), '');
    const result = await run.done();
    expect(result.exitCode, result.stderr).toBe(0);
    const trace = await readFile(ws.path('trace.log'), 'utf8');
    expect(trace).not.toContain('while');
    const [record] = await readRunRecords(ws);
    const status = await readValid(RunStatusSchema, join(ws.complete, record!.id, 'tasks-status.json'));
    expect(status.tasks.a).toMatchObject({ state: 'complete', attempts: 1 });
  }, 120_000);

  it('a manager whose lease in Redis another manager holds now stops; a second manager is refused while the lease is held', async () => {
    const ws = await makeWorkspace(filesWith([{ name: 'a', task: 'ask' }], { ask: ASK_TASK }, 0));
    const first = background(ws, ['start', '--json', '--root', ws.root, '--queue', redis().url], { POP_LOCK_STALE_MS: '3000' });
    await first.waitForEvent('manager-ready');
    const client = new Redis(redis().url);
    closers.push(async () => client.disconnect());
    const [key] = await client.keys('*:manager-lease');
    expect(key).toBeDefined();
    // Another manager (on a host whose lock file this one cannot see) holds it: this one must stop.
    await client.set(key!, JSON.stringify({ holder: 'pop-other-host:4242', command: 'start', token: 99, nonce: 'x' }), 'PX', 60_000);
    const refused = await background(ws, ['start', '--once', '--root', ws.root, '--queue', redis().url]).done();
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain("another manager (pop-other-host:4242) holds this workspace's lease in Redis");
    const stopped = await first.done();
    expect(stopped.stderr).toContain('lease in Redis was taken by pop-other-host:4242: stopping');
    expect(stopped.events.map((line) => line.event)).toContain('manager-stopped');
  }, 60_000);
});

/** Waits for <workspace>/gate; notes in <workspace>/trace.log when it starts, and whether an earlier attempt's process is still alive then. */
const TRACED_TASK = `import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { defineTask, z } from 'pop';
const gate = new URL('../gate', import.meta.url);
const trace = new URL('../trace.log', import.meta.url);
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
export default defineTask({
  output: z.object({ answer: z.string().min(1) }),
  prompt: async ({ seed }, ctx) => {
    const earlier = existsSync(trace) ? readFileSync(trace, 'utf8').split('\\n').filter((line) => line.startsWith('start ')).map((line) => Number(line.split(' ')[1])) : [];
    const running = earlier.filter(alive);
    appendFileSync(trace, \`start \${process.pid}\${running.length ? \` while \${running.join(',')} runs\` : ''}\\n\`);
    while (!existsSync(gate)) {
      if (ctx.signal.aborted) throw new Error('stopped before the gate opened');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return \`Answer: \${seed.q}\`;
  },
});
`;
