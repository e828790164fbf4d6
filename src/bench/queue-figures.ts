// The figures of `start --queue`: what a task attempt costs through BullMQ and Redis beside a local
// task process, and what a second worker adds on API-bound work. Needs Debian's redis-server.
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkReachable } from '../queue/connection.js';
import { makeApiWorkspace, runDaemon } from './api-bound.js';
import type { Record } from './api-figures.js';
import { startSlowOpenAiServer } from './slow-openai-server.js';
import { makeWorkspace, REPO } from './workspace.js';
import { freePort } from '../util/free-port.js';

const REDIS_SERVER = '/usr/bin/redis-server';
const MANAGER = join(REPO, 'orchestrator', 'manager.js');

async function withRedis<T>(work: (url: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'pop-bench-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const server = execa(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''], { reject: false, stdio: 'ignore' });
  try {
    while (!(await checkReachable(url)).ok) await new Promise((done) => setTimeout(done, 50));
    return await work(url);
  } finally {
    server.kill('SIGTERM');
    await server;
    await rm(dir, { recursive: true, force: true });
  }
}

/** Workers started and ready (their warm task processes too), so their start-up is not timed. */
async function startWorkers(root: string, url: string, count: number, concurrency: number): Promise<ResultPromise[]> {
  const workers = Array.from({ length: count }, () =>
    execa(process.execPath, [MANAGER, 'worker', '--queue', url, '--root', root, '--concurrency', String(concurrency)], {
      reject: false,
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
      buffer: false,
    }),
  );
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          let seen = '';
          worker.stderr?.on('data', (chunk: Buffer) => {
            seen += chunk.toString();
            if (seen.includes('takes tasks from queue')) resolve();
          });
          void worker.then(() => resolve());
        }),
    ),
  );
  await new Promise((done) => setTimeout(done, 1000));
  return workers;
}

async function stopWorkers(workers: ResultPromise[]): Promise<void> {
  for (const worker of workers) worker.kill('SIGTERM');
  await Promise.all(workers);
}

/** Wall time of `seeds` runs through a queue manager and `count` workers. */
async function queuedRun(root: string, url: string, seeds: number, runs: number, count: number, concurrency: number): Promise<number> {
  const workers = await startWorkers(root, url, count, concurrency);
  try {
    return (await runDaemon(root, seeds, runs, ['--queue', url])).wallMs;
  } finally {
    await stopWorkers(workers);
  }
}

export async function queueFigures(options: { quick: boolean; record: Record; workspaces: string[] }): Promise<void> {
  if (!existsSync(REDIS_SERVER)) {
    process.stderr.write('queue figures skipped: redis-server is not installed (apt-get install -y redis-server)\n');
    return;
  }
  const { record, workspaces } = options;
  await withRedis(async (url) => {
    // Per task: the trivial 3-task mock pipeline, one task at a time, locally and through the queue.
    const seeds = options.quick ? 10 : 30;
    process.stderr.write(`queue: per-task overhead, ${seeds} seeds × 3 trivial tasks, one at a time…\n`);
    const local = await makeWorkspace();
    const queued = await makeWorkspace();
    workspaces.push(local, queued);
    const localMs = (await runDaemon(local, seeds, 1)).wallMs;
    const queuedMs = await queuedRun(queued, url, seeds, 1, 1, 1);
    record('per-task time through the queue (1 worker) vs a local task process', queuedMs / (seeds * 3), localMs / (seeds * 3), 'ms', {
      kind: 'ratio',
      max: 1.5,
    });
  });
  await withRedis(async (url) => {
    // API-bound: every task waits 500 ms on a server; 2 workers of 2 vs 1 worker of 2 (on 2 cores, more at once would measure the CPU of starting task processes, not the workers).
    const seeds = options.quick ? 8 : 16;
    process.stderr.write(`queue: ${seeds} seeds × 3 tasks waiting 500 ms each, 1 worker vs 2 workers (2 tasks at once each)…\n`);
    const server = await startSlowOpenAiServer(500);
    try {
      const one = await makeApiWorkspace({ baseURL: server.baseURL });
      const two = await makeApiWorkspace({ baseURL: server.baseURL });
      workspaces.push(one, two);
      const oneMs = await queuedRun(one, url, seeds, seeds, 1, 2);
      const twoMs = await queuedRun(two, url, seeds, seeds, 2, 2);
      record('throughput, 2 workers ÷ 1 worker (API-bound, 500 ms a call)', oneMs / twoMs, 1, '×', { kind: 'at-least', max: 1.6 });
    } finally {
      await server.close();
    }
  });
}
