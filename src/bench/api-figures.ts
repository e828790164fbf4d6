// The figures of API-bound work: CPU per task process with a real provider, wall time against a
// server with latency beside a plain openai-SDK script, a rate limit kept, a cached call's cost.
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateway } from '../gateway/gateway.js';
import { BENCH_KEY_ENV, childrenCpuMs, makeApiWorkspace, runDaemon } from './api-bound.js';
import { startLlmServer } from './llm-server.js';
import { median } from './stats.js';

type Target = { kind: 'ratio' | 'absolute' | 'at-least' | 'info'; max: number };
export type Record = (figure: string, value: number, baseline: number | undefined, unit: string, target: Target) => void;

export interface ApiSizes {
  /** Seeds of the CPU-per-task figure (3 task processes each). */
  cpuSeeds: number;
  /** N of the latency figure: N seeds × 3 tasks at each concurrency. */
  apiSeeds: number;
  /** Calls of the rate-limited figure. */
  rateCalls: number;
}

process.env[BENCH_KEY_ENV] ??= 'bench-key';

/** CPU time of one bare `node -e 0` spawn (median of batches), as a task process's floor. */
export async function bareSpawnCpuMs(count: number): Promise<number> {
  const batches: number[] = [];
  for (let batch = 0; batch < 3; batch++) {
    const before = await childrenCpuMs();
    for (let i = 0; i < count; i++) await execa(process.execPath, ['-e', '0']);
    batches.push(((await childrenCpuMs()) - before) / count);
  }
  return median(batches);
}

export async function cpuPerTaskProcess(sizes: ApiSizes, record: Record, workspaces: string[]): Promise<number> {
  process.stderr.write(`CPU per task process, openai provider (${sizes.cpuSeeds} seeds × 3 tasks)…\n`);
  const bare = await bareSpawnCpuMs(20);
  const server = await startLlmServer({ latencyMs: 0 });
  try {
    const root = await makeApiWorkspace({ baseURL: server.baseURL });
    workspaces.push(root);
    const run = await runDaemon(root, sizes.cpuSeeds, 2);
    record('CPU per task process (tasks import pop and zod; openai provider via the gateway)', run.childCpuMs / run.tasks, bare, 'ms', {
      kind: 'ratio',
      max: 1.3,
    });
  } finally {
    await server.close();
  }
  return bare;
}

/** The latency figure at each concurrency, with the plain script measured beside it. */
export async function apiBound(sizes: ApiSizes, bareCpuMs: number, record: Record, workspaces: string[]): Promise<void> {
  const calls = 3 * sizes.apiSeeds;
  const processFloorMs = (calls * bareCpuMs) / cpus().length;
  // No latency: the process floor is all there is.
  {
    process.stderr.write(`API-bound, N = ${sizes.apiSeeds} seeds × 3 tasks, latency 0, C = 2…\n`);
    const server = await startLlmServer({ latencyMs: 0 });
    try {
      const scriptS = await sdkScriptSeconds(server.baseURL, sizes.apiSeeds, 2);
      const root = await makeApiWorkspace({ baseURL: server.baseURL });
      workspaces.push(root);
      const run = await runDaemon(root, sizes.apiSeeds, 2);
      record(
        `API-bound wall, N = ${sizes.apiSeeds}, latency 0, C = 2, against the process floor (plain SDK script: ${scriptS.toFixed(1)} s)`,
        run.wallMs / 1000,
        processFloorMs / 1000,
        's',
        { kind: 'ratio', max: 1.25 },
      );
    } finally {
      await server.close();
    }
  }
  const latencyMs = 500;
  for (const concurrency of [2, 16, 32, 64]) {
    process.stderr.write(`API-bound, N = ${sizes.apiSeeds} seeds × 3 tasks, latency ${latencyMs} ms, C = ${concurrency}…\n`);
    const server = await startLlmServer({ latencyMs });
    try {
      const scriptS = await sdkScriptSeconds(server.baseURL, sizes.apiSeeds, concurrency);
      const root = await makeApiWorkspace({ baseURL: server.baseURL });
      workspaces.push(root);
      const run = await runDaemon(root, sizes.apiSeeds, concurrency);
      const floorS = Math.max((calls * latencyMs) / concurrency, processFloorMs) / 1000;
      record(
        `API-bound wall, N = ${sizes.apiSeeds}, latency ${latencyMs} ms, C = ${concurrency}, against max(call floor, process floor) (plain SDK script: ${scriptS.toFixed(1)} s)`,
        run.wallMs / 1000,
        floorS,
        's',
        { kind: 'ratio', max: 1.25 },
      );
      if (concurrency === 16) record(`manager's own CPU per task, C = 16`, run.managerCpuMs / run.tasks, undefined, 'ms', { kind: 'absolute', max: 15 });
      if (concurrency === 64)
        record(`peak RSS of POP's process tree, N = ${sizes.apiSeeds}, C = 64`, run.peakTreeRssMb, undefined, 'MB', { kind: 'absolute', max: 1536 });
    } finally {
      await server.close();
    }
  }
  // A little work at a high concurrency: the warm processes follow the work, not --concurrency.
  const server = await startLlmServer({ latencyMs });
  try {
    const root = await makeApiWorkspace({ baseURL: server.baseURL });
    workspaces.push(root);
    const run = await runDaemon(root, 2, 64);
    record('most processes in the tree, 2 seeds, C = 64 (the manager included)', run.peakProcesses, undefined, 'processes', { kind: 'absolute', max: 8 });
  } finally {
    await server.close();
  }
}

async function sdkScriptSeconds(baseURL: string, seeds: number, concurrency: number): Promise<number> {
  const script = await execa(process.execPath, [join(import.meta.dirname, 'sdk-script.js'), baseURL, String(seeds), String(concurrency)]);
  return Number(script.stdout) / 1000;
}

/** A server that 429s beyond a rate, and the same rate as requestsPerMinute: the rate achieved. */
export async function rateLimited(sizes: ApiSizes, record: Record, workspaces: string[]): Promise<void> {
  const serverPerSecond = 4;
  // Under the server's 240 a minute: it counts requests as they arrive, after the network's jitter.
  const perMinute = 220;
  process.stderr.write(`rate-limited, ${sizes.rateCalls} calls at requestsPerMinute ${perMinute}, the server 429ing beyond ${serverPerSecond} a second…\n`);
  const server = await startLlmServer({ latencyMs: 100, requestsPerSecond: serverPerSecond });
  try {
    const root = await makeApiWorkspace({ baseURL: server.baseURL, limits: { requestsPerMinute: perMinute } });
    workspaces.push(root);
    await runDaemon(root, Math.ceil(sizes.rateCalls / 3), 32);
    const { stats } = server;
    const achieved = ((stats.requests - 1) * 60_000) / Math.max(1, stats.lastAt - stats.firstAt);
    record(
      `rate-limited: requests per minute achieved, first to last request (limit ${perMinute}, server ${serverPerSecond * 60})`,
      achieved,
      perMinute,
      'rpm',
      { kind: 'at-least', max: 0.9 },
    );
    record('rate-limited: 429 answers', stats.rateLimited, undefined, 'answers', { kind: 'absolute', max: 0 });
  } finally {
    await server.close();
  }
}

/** What answering a call from the cache costs the gateway: a lookup and a file read. */
export async function cachedCallCost(record: Record): Promise<void> {
  process.stderr.write('cached call cost…\n');
  const dir = await mkdtemp(join(tmpdir(), 'pop-bench-cache-'));
  try {
    const gateway = new Gateway(process.env);
    const settings = { providers: undefined, maxRetries: undefined, cacheDir: dir };
    const request = {
      models: ['mock:bench'],
      messages: [{ role: 'user' as const, content: 'Say something about 7. It is a number.' }],
      schemaName: 'bench',
      call: 1,
    };
    const log = { debug() {}, info() {}, warn() {}, error() {}, child: () => log };
    const signal = new AbortController().signal;
    const first = await gateway.call(request, settings, signal, log);
    // Kept as a validated answer is: the task says it passed.
    await first.store?.();
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      const { result: answer } = await gateway.call(request, settings, signal, log);
      times.push(performance.now() - t0);
      if (!answer.ok || !answer.value.cached) throw new Error('bench: expected a cache hit');
    }
    record('a cached call, in the gateway (lookup + read)', median(times), undefined, 'ms', { kind: 'absolute', max: 5 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
