/**
 * The Batch API: a task with `batch: true` parks its calls, holding no process, and runs again once
 * the manager has their answers. Real processes, the official SDKs against a local server speaking
 * OpenAI's Files + Batches and Anthropic's Message Batches; the offline mock's batches too.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerOf } from './support/ledger.js';
import { GOOD_VALUE, JSON_TASK, popEnv, runPopWithEnv } from './support/fake-llm-server.js';
import { startFakeBatchServer, type FakeBatchOptions, type FakeBatchServer } from './support/fake-batch-server.js';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import { OutputSchema } from '../src/formats/output.js';
import { rawRequest, startUi } from './support/ui.js';
import type { RunRecord } from '../src/formats/run-record.js';
import {
  makeWorkspace,
  readRunRecords,
  readValid,
  registryModule,
  runDirs,
  runnerChildren,
  startDaemon,
  waitFor,
  type Workspace,
} from './support/workspace.js';

const PRICE = { inputPerMillion: 2, outputPerMillion: 8 };
/** What the fake answers by default: 11 tokens in, 7 out. */
const FULL_COST = (11 * 2 + 7 * 8) / 1e6;

/** A reply that breaks the task's schema (no confidence). */
const BAD = JSON.stringify({ answer: 'not sure' });
const GOOD = JSON.stringify(GOOD_VALUE);
/** A refinement carries the rejected reply and the critique: more than the system and user messages. */
// biome-ignore lint/suspicious/noExplicitAny: the body is whatever the SDK sent.
const isRefinement = (body: any) => (body.messages?.length ?? 0) > 2;

interface BatchWorkspaceOptions {
  seeds?: number;
  provider?: 'openai' | 'anthropic';
  task?: Record<string, unknown>;
  batch?: Record<string, unknown>;
  /** No key variable: the daemon helper starts with the test's own environment. */
  noKey?: boolean;
}

function batchWorkspace(fake: FakeBatchServer, options: BatchWorkspaceOptions = {}): Promise<Workspace> {
  const provider = options.provider ?? 'openai';
  const seeds = Object.fromEntries(Array.from({ length: options.seeds ?? 1 }, (_, index) => [`pipeline-pending/q${index}.json`, { q: `Question ${index}?` }]));
  return makeWorkspace({
    'pipeline.json': {
      name: 'batched',
      tasks: [{ name: 'ask', model: 'llm:small', batch: true, ...options.task }],
      providers: {
        llm:
          provider === 'openai'
            ? { type: 'openai', baseURL: fake.openaiBaseURL, maxRetries: 0, ...(options.noKey ? {} : { apiKeyEnv: 'TEST_KEY' }) }
            : { type: 'anthropic', baseURL: fake.anthropicBaseURL, apiKeyEnv: 'TEST_KEY', maxRetries: 0 },
      },
      prices: { 'llm:small': PRICE },
      batch: { windowMs: 0, pollMs: 100, ...options.batch },
    },
    'pipeline-tasks/index.js': registryModule(['ask']),
    'pipeline-tasks/ask.js': JSON_TASK,
    ...seeds,
  });
}

const env = () => popEnv({ TEST_KEY: 'sk-batch-test-key-0123456789' });
const once = (ws: Workspace, extra: Record<string, string> = {}) => runPopWithEnv(ws, ['start', '--once'], { ...env(), ...extra }, 120_000);

async function fakeWith(options: FakeBatchOptions): Promise<FakeBatchServer> {
  return startFakeBatchServer(options);
}

const askOf = (record: RunRecord) => record.tasks.find((task) => task.name === 'ask');

async function statusOf(runDir: string) {
  return readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
}

describe('the Batch API', () => {
  for (const provider of ['openai', 'anthropic'] as const) {
    it(`${provider}: 6 seeds of a batched task go in one batch of 6, no call in real time, priced at half; start --once exits with what waits, and a second completes the runs`, async () => {
      const fake = await fakeWith({ delayMs: 1500 });
      const ws = await batchWorkspace(fake, { seeds: 6, provider });
      const first = await once(ws);
      expect(first.exitCode, first.stderr).toBe(0);
      expect(first.stderr).toMatch(/6 call\(s\) wait for the Batch API/);
      expect(fake.batches).toHaveLength(1);
      expect(fake.batches[0]?.requests).toHaveLength(6);
      const waiting = await runDirs(ws.current);
      expect(waiting).toHaveLength(6);
      for (const id of waiting) {
        const status = await statusOf(join(ws.current, id));
        expect(status.state).toBe('waiting');
        expect(status.tasks.ask).toMatchObject({ state: 'waiting', attempts: 1, waiting: { reason: 'batch', provider: 'llm', requests: 1 } });
        expect(status.tasks.ask?.waiting?.batch).toBe(fake.batches[0]?.id);
      }
      // Nothing holds a process while the batch is open.
      expect(await runnerChildren(ws)).toEqual([]);
      const shown = await runPopWithEnv(ws, ['status', waiting[0]!], env());
      expect(shown.stdout).toMatch(/state\s+waiting \(ask waiting for the Batch API\)/);
      expect(shown.stdout).toContain(`ask waits for the Batch API: llm batch ${fake.batches[0]?.id}: `);
      expect((await runPopWithEnv(ws, ['batches'], env())).stdout).toMatch(new RegExp(`${fake.batches[0]?.id}\\s+llm\\s+small\\s+open\\s+6`));

      await waitFor(async () => Date.now() > (fake.batches[0]?.createdAt ?? 0) + 1500);
      const second = await once(ws);
      expect(second.exitCode, second.stderr).toBe(0);
      expect(fake.realtimeRequests).toEqual([]);
      expect(fake.creates()).toBe(1);
      const records = await readRunRecords(ws);
      expect(records).toHaveLength(6);
      for (const record of records) {
        expect(askOf(record)?.attempts).toBe(1);
        expect(record.totals.costUsd).toBeCloseTo(FULL_COST / 2, 12);
        const lines = await ledgerOf(join(ws.complete, record.id), 'ask');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatchObject({ batch: true, outcome: 'answered', model: 'llm:small' });
      }
      // The key never reaches an artifact, even through the batch's files.
      const cost = await runPopWithEnv(ws, ['cost', '--json'], env());
      const report = JSON.parse(cost.stdout);
      expect(report.total.batchCalls).toBe(6);
      expect(report.total.batchCostUsd).toBeCloseTo((6 * FULL_COST) / 2, 12);
      expect(report.total.realtimeCostUsd ?? 0).toBe(0);
      const runs = await runPopWithEnv(ws, ['runs'], env());
      expect(runs.stdout).toMatch(/\b1 \(1 batch\)/);
    });
  }

  it('a watching manager holds no task process while the batch is open, and completes the runs when it ends', async () => {
    const fake = await fakeWith({ delayMs: 2500 });
    const ws = await batchWorkspace(fake, { seeds: 3, batch: { windowMs: 300, pollMs: 200 }, noKey: true });
    const daemon = await startDaemon(ws);
    try {
      const submitted = await daemon.waitForEvent('batch-submitted', (event) => event.requests === 3);
      // Every run's status names the batch, whether or not the manager was still working on it when it went.
      await waitFor(async () => {
        const ids = await runDirs(ws.current);
        const batches = await Promise.all(ids.map(async (id) => (await statusOf(join(ws.current, id))).tasks.ask?.waiting?.batch));
        return ids.length === 3 && batches.every((batch) => batch === submitted.batch);
      });
      // Standbys may wait for work; no runner is working on a letter.
      const working = (await runnerChildren(ws)).filter((child) => child.target !== '--standby');
      expect(working).toEqual([]);
      await waitFor(async () => (await readRunRecords(ws)).length === 3, { timeoutMs: 30_000 });
      expect(fake.realtimeRequests).toEqual([]);
    } finally {
      await daemon.stop();
    }
  });

  for (const provider of ['openai', 'anthropic'] as const)
    it(`${provider}: SIGKILL after the batch is created, before its id is saved: the restarted manager finds it (by its key, or its requests' ids) and submits nothing again`, async () => {
      const fake = await fakeWith({ delayMs: 0 });
      const ws = await batchWorkspace(fake, { seeds: 2, provider });
      const killed = await once(ws, { POP_CRASH_AT: 'after-batch-create' });
      expect(killed.signal).toBe('SIGKILL');
      expect(fake.creates()).toBe(1);
      const again = await once(ws);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.events.some((event) => event.event === 'batch-reattached')).toBe(true);
      expect(fake.creates()).toBe(1);
      expect(await readRunRecords(ws)).toHaveLength(2);
      expect(fake.realtimeRequests).toEqual([]);
    });

  it('SIGKILL between the submission record and the create call: at most one batch exists afterwards', async () => {
    const fake = await fakeWith({ delayMs: 0 });
    const ws = await batchWorkspace(fake, { seeds: 2 });
    const killed = await once(ws, { POP_CRASH_AT: 'before-batch-create' });
    expect(killed.signal).toBe('SIGKILL');
    expect(fake.creates()).toBe(0);
    const again = await once(ws);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(fake.creates()).toBe(1);
    expect(fake.batches[0]?.requests).toHaveLength(2);
    expect(await readRunRecords(ws)).toHaveLength(2);
  });

  it('a reply that fails validation: its refinement waits for a second batch round', async () => {
    const fake = await fakeWith({ answer: (body) => (isRefinement(body) ? GOOD : BAD) });
    const ws = await batchWorkspace(fake);
    const result = await once(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.batches).toHaveLength(2);
    expect(fake.realtimeRequests).toEqual([]);
    const [record] = await readRunRecords(ws);
    expect(record && askOf(record)).toMatchObject({ attempts: 1, refinements: 1 });
    const lines = await ledgerOf(join(ws.complete, record!.id), 'ask');
    expect(lines.map((line) => [line.call, line.batch])).toEqual([
      [1, true],
      [2, true],
    ]);
  });

  it('with refine: "realtime" the refinement is made at once, at the real-time price', async () => {
    const fake = await fakeWith({ answer: (body) => (isRefinement(body) ? GOOD : BAD) });
    const ws = await batchWorkspace(fake, { batch: { refine: 'realtime' } });
    const result = await once(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.batches).toHaveLength(1);
    expect(fake.realtimeRequests).toHaveLength(1);
    const [record] = await readRunRecords(ws);
    const lines = await ledgerOf(join(ws.complete, record!.id), 'ask');
    expect(lines.map((line) => [line.call, line.batch ?? false, line.costUsd])).toEqual([
      [1, true, FULL_COST / 2],
      [2, false, FULL_COST],
    ]);
  });

  it('expired lines are made in real time, and the ledger says both', async () => {
    const fake = await fakeWith({ expire: () => true });
    const ws = await batchWorkspace(fake, { seeds: 2 });
    const result = await once(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.realtimeRequests).toHaveLength(2);
    for (const record of await readRunRecords(ws)) {
      const lines = await ledgerOf(join(ws.complete, record.id), 'ask');
      expect(lines.map((line) => [line.outcome, line.reason ?? null, line.batch ?? false])).toEqual([
        ['failed', 'batch-expired', true],
        ['answered', null, false],
      ]);
      expect(record.totals.costUsd).toBeCloseTo(FULL_COST, 12);
    }
  });

  it('with batch: "required" an expired line fails the task, naming the reason', async () => {
    const fake = await fakeWith({ expire: () => true });
    const ws = await batchWorkspace(fake, { task: { batch: 'required' } });
    const result = await once(ws);
    expect(result.exitCode).toBe(1);
    expect(fake.realtimeRequests).toEqual([]);
    const [id] = await runDirs(ws.current);
    const status = await statusOf(join(ws.current, id!));
    expect(status.tasks.ask?.state).toBe('failed');
    expect(status.tasks.ask?.error?.message).toMatch(/expired/);
    expect(status.tasks.ask?.error?.reason).toBe('provider-failed');
  });

  for (const provider of ['openai', 'anthropic'] as const)
    it(`${provider}: a batch the provider fails (OpenAI as its state, Anthropic refusing it at creation): its calls fail with the provider's message`, async () => {
      const fake = await fakeWith({ failBatch: 'line 1: model "small" does not exist' });
      const ws = await batchWorkspace(fake, { provider });
      const result = await once(ws);
      expect(result.exitCode).toBe(1);
      expect(fake.realtimeRequests).toEqual([]);
      const [id] = await runDirs(ws.current);
      const status = await statusOf(join(ws.current, id!));
      expect(status.tasks.ask?.error?.message).toMatch(/model "small" does not exist/);
    });

  it('a server without a Batch API: real-time calls with a warning; with required, the task fails', async () => {
    const fake = await fakeWith({ noBatchApi: true });
    const ws = await batchWorkspace(fake);
    const result = await once(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.events.some((event) => event.event === 'batch-unsupported')).toBe(true);
    expect(fake.realtimeRequests).toHaveLength(1);

    const strict = await batchWorkspace(fake, { task: { batch: 'required' } });
    const refused = await once(strict);
    expect(refused.exitCode).toBe(1);
    const [id] = await runDirs(strict.current);
    expect((await statusOf(join(strict.current, id!))).tasks.ask?.error?.message).toMatch(/no Batch API/);
  });

  it('200 runs of a batched task: one batch of 200 requests', async () => {
    const fake = await fakeWith({ delayMs: 0 });
    const ws = await batchWorkspace(fake, { seeds: 200, batch: { windowMs: 600_000 } });
    const result = await runPopWithEnv(ws, ['start', '--once', '--concurrency', '8'], env(), 300_000);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.creates()).toBe(1);
    expect(fake.batches[0]?.requests).toHaveLength(200);
    expect(await readRunRecords(ws)).toHaveLength(200);
    expect(fake.realtimeRequests).toEqual([]);
  }, 320_000);

  it('pop batches lists an open submission; pop cancel cancels it and fails the waiting task', async () => {
    const fake = await fakeWith({ delayMs: 600_000 });
    const ws = await batchWorkspace(fake, { seeds: 1 });
    expect((await once(ws)).exitCode).toBe(0);
    const listed = await runPopWithEnv(ws, ['batches'], env());
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(fake.batches[0]!.id);
    expect(listed.stdout).toMatch(/open/);
    const [id] = await runDirs(ws.current);
    const cancelled = await runPopWithEnv(ws, ['cancel', id!], env());
    expect(cancelled.exitCode, cancelled.stderr).toBe(0);
    expect(fake.batches[0]?.cancelled).toBe(true);
    const status = await statusOf(join(ws.current, id!));
    expect(status.state).toBe('failed');
    expect(status.tasks.ask).toMatchObject({ state: 'failed', error: { reason: 'cancelled' } });
    expect((await runPopWithEnv(ws, ['batches'], env())).stdout).toMatch(/No calls are waiting/);
  });

  it('with cache: true a validated batch answer is kept: the same call later is answered from the cache, with no batch', async () => {
    const fake = await fakeWith({});
    const ws = await batchWorkspace(fake, { task: { cache: true } });
    expect((await once(ws)).exitCode).toBe(0);
    await writeFile(join(ws.pending, 'again.json'), JSON.stringify({ q: 'Question 0?' }));
    const again = await once(ws);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(fake.creates()).toBe(1);
    expect(fake.realtimeRequests).toEqual([]);
    const second = (await readRunRecords(ws)).find((record) => record.seed === 'again.json');
    expect(await ledgerOf(join(ws.complete, second!.id), 'ask')).toMatchObject([{ cached: true, outcome: 'answered' }]);
  });

  it('a batched fan-out: every item parks in the same batch, and the task runs on once they are answered', async () => {
    const fake = await fakeWith({ answer: (body) => JSON.stringify({ word: /echo: (\w+)/.exec(JSON.stringify(body.messages))?.[1] ?? '?' }) });
    const ws = await makeWorkspace({
      'pipeline.json': {
        name: 'batched-fan',
        tasks: [{ name: 'fan', model: 'llm:small', batch: true, concurrency: 2 }],
        providers: { llm: { type: 'openai', baseURL: fake.openaiBaseURL, maxRetries: 0 } },
        batch: { windowMs: 0, pollMs: 100 },
      },
      'pipeline-tasks/index.js': registryModule(['fan']),
      'pipeline-tasks/fan.js': `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ word: z.string().min(1) }),
  each: ({ seed }) => seed.words,
  prompt: (word) => 'echo: ' + word,
  finalize: (values) => values.map((value) => value.word),
});
`,
      'pipeline-pending/words.json': { words: ['alpha', 'beta', 'gamma', 'delta', 'epsilon'] },
    });
    const result = await once(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.creates()).toBe(1);
    expect(fake.batches[0]?.requests).toHaveLength(5);
    expect(fake.realtimeRequests).toEqual([]);
    const [record] = await readRunRecords(ws);
    const output = await readValid(OutputSchema, join(ws.complete, record!.id, 'tasks', 'fan', 'output.json'));
    expect(output.value).toEqual(['alpha', 'beta', 'gamma', 'delta', 'epsilon']);
    const lines = await ledgerOf(join(ws.complete, record!.id), 'fan');
    expect(lines.map((line) => [line.item, line.batch])).toEqual(expect.arrayContaining([0, 1, 2, 3, 4].map((item) => [item, true])));
    expect(lines).toHaveLength(5);
  });

  it('the web view shows a waiting task: its state, its batch, the counts and how long it has waited', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': {
        name: 'mock-batch',
        tasks: [{ name: 'ask', batch: true }],
        providers: { mock: { batchDelayMs: 600_000 } },
        batch: { windowMs: 0, pollMs: 100 },
      },
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': JSON_TASK,
      'pipeline-pending/q.json': { q: 'Why is the sea salty?' },
    });
    expect((await once(ws)).exitCode).toBe(0);
    const [id] = await runDirs(ws.current);
    const ui = await startUi(ws, popEnv());
    try {
      const page = await rawRequest(ui.origin, `/runs/${id}`, { headers: { cookie: ui.cookie } });
      expect(page.status).toBe(200);
      expect(page.body).toContain('state-waiting');
      expect(page.body).toMatch(/data-waiting>mock batch mockbatch_\w+: 0\/1 answered · submitted [^<]* ago · waiting /);
      const task = await rawRequest(ui.origin, `/runs/${id}/tasks/ask`, { headers: { cookie: ui.cookie } });
      expect(task.body).toMatch(/waiting for the Batch API: mock batch mockbatch_\w+/);
    } finally {
      await ui.stop();
    }
  });

  it('the offline mock: a parked run survives a manager restart and completes from its batch', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': {
        name: 'mock-batch',
        tasks: [{ name: 'ask', batch: true }],
        providers: { mock: { batchDelayMs: 1000 } },
        batch: { windowMs: 0, pollMs: 100 },
      },
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': JSON_TASK,
      'pipeline-pending/q.json': { q: 'Why is the sea salty?' },
    });
    const first = await once(ws);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(await readdir(join(ws.root, '.pop', 'batches', 'mock'))).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await once(ws);
    expect(second.exitCode, second.stderr).toBe(0);
    const [record] = await readRunRecords(ws);
    expect((record && askOf(record))?.attempts).toBe(1);
    const lines = await ledgerOf(join(ws.complete, record!.id), 'ask');
    expect(lines).toMatchObject([{ batch: true, outcome: 'answered', model: 'mock:default' }]);
  });
});
