/**
 * The Batch API with `start --queue`: a worker's gateway parks the calls on the shared workspace,
 * the manager alone submits and polls, and a parked task holds no worker while its batch is open.
 */
import { describe, expect, it } from 'vitest';
import { JSON_TASK, popEnv } from './support/fake-llm-server.js';
import { startFakeBatchServer } from './support/fake-batch-server.js';
import { hasRedis, INSTALL_REDIS, queueProcesses } from './support/redis.js';
import { makeWorkspace, readRunRecords, readValid, registryModule, runDirs, runnerChildren, waitFor } from './support/workspace.js';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import { join } from 'node:path';

const { redis, background } = queueProcesses(() => ({ ...popEnv(), POP_QUEUE_LOCK_MS: '4000' }));

describe.skipIf(!hasRedis)(`the Batch API through a queue (needs redis-server: ${INSTALL_REDIS})`, () => {
  it('parked tasks hold no worker; start --once exits with what waits, and a second start --once completes the runs', async () => {
    const fake = await startFakeBatchServer({ delayMs: 3000 });
    const seeds = Object.fromEntries([0, 1, 2].map((index) => [`pipeline-pending/q${index}.json`, { q: `Question ${index}?` }]));
    const ws = await makeWorkspace({
      'pipeline.json': {
        name: 'queued-batch',
        tasks: [{ name: 'ask', model: 'llm:small', batch: true }],
        providers: { llm: { type: 'openai', baseURL: fake.openaiBaseURL, maxRetries: 0 } },
        batch: { windowMs: 0, pollMs: 100 },
      },
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': JSON_TASK,
      ...seeds,
    });
    const worker = background(ws, ['worker', '--queue', redis().url, '--root', ws.root, '--concurrency', '1']);
    const first = background(ws, ['start', '--json', '--root', ws.root, '--queue', redis().url, '--once']);
    const ended = await first.done();
    expect(ended.exitCode, ended.stderr).toBe(0);
    expect(ended.stderr).toMatch(/3 call\(s\) wait for the Batch API/);
    // Each task ran on the worker, parked there, and gave its slot back.
    expect(ended.events.filter((event) => event.event === 'task-parked')).toHaveLength(3);
    for (const id of await runDirs(ws.current)) {
      const status = await readValid(RunStatusSchema, join(ws.current, id, 'tasks-status.json'));
      expect(status.tasks.ask).toMatchObject({ state: 'waiting', worker: expect.stringContaining(':') });
    }
    expect(fake.creates()).toBe(1);
    expect((await runnerChildren(ws)).filter((child) => child.target !== '--standby')).toEqual([]);
    expect(worker.events().filter((event) => event.event === 'batch-submitted')).toEqual([]);

    await waitFor(() => Date.now() > (fake.batches[0]?.createdAt ?? Infinity) + 3000, { timeoutMs: 10_000 });
    const second = background(ws, ['start', '--json', '--root', ws.root, '--queue', redis().url, '--once']);
    const done = await second.done();
    expect(done.exitCode, done.stderr).toBe(0);
    expect(await readRunRecords(ws), done.stdout.slice(-4000) + done.stderr).toHaveLength(3);
    expect(await runDirs(ws.current)).toEqual([]);
    expect(fake.realtimeRequests).toEqual([]);
    expect(fake.creates()).toBe(1);
  });
});
