// The Batch API figure: 200 seeds through three tasks, the middle one batched, against a local
// server speaking OpenAI's Chat Completions, Files and Batches; the same seeds all in real time,
// in the same run. Cost, the manager's CPU while the batch is open (against the same manager idle),
// and the task processes alive while the tasks are parked.
import { execa } from 'execa';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBatchServer } from './batch-server.js';
import { startDaemon } from './daemon.js';
import { round, type RecordFigure } from './stats.js';
import { REPO, dropSeed, makeWorkspace } from './workspace.js';

const WAIT_MS = 5000;
const SAMPLE_MS = 100;
/** After the submission, before the manager's CPU is measured. */
const SETTLE_MS = 3000;
const CONCURRENCY = 8;

const TASK = `/** @type {import('pop').TaskDefinition} */
export default { prompt: ({ seed }) => 'Write one sentence about the number ' + String(seed.n) + '.' };
`;

function pipelineOf(baseURL: string, seeds: number) {
  return {
    providers: { local: { type: 'openai', baseURL, maxRetries: 0 } },
    models: { default: 'local:small' },
    prices: { 'local:small': { inputPerMillion: 1, outputPerMillion: 4 } },
    // The batch goes as soon as every run's middle task has parked.
    batch: { windowMs: 600_000, maxRequests: seeds, pollMs: 500 },
  };
}

async function workspace(baseURL: string, batched: boolean, seeds: number): Promise<string> {
  return makeWorkspace({
    tasks: ['one', batched ? { name: 'two', batch: true } : 'two', 'three'],
    modules: { one: TASK, two: TASK, three: TASK },
    pipeline: pipelineOf(baseURL, seeds),
  });
}

async function totalCost(root: string): Promise<{ runs: number; costUsd: number }> {
  const lines = (await readFile(join(root, 'pipeline-complete', 'runs.jsonl'), 'utf8')).split('\n').filter(Boolean);
  const costUsd = lines.reduce((sum, line) => sum + ((JSON.parse(line) as { totals: { costUsd?: number } }).totals.costUsd ?? 0), 0);
  return { runs: lines.length, costUsd };
}

/** Task processes of this workspace working on a letter (warm standbys waiting for one are not counted). */
async function taskProcesses(root: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const at = args.indexOf(root);
    if (at > 0 && args.some((arg) => /runner[/.]/.test(arg)) && args[at + 1] !== '--standby') count++;
  }
  return count;
}

/** CPU time (user + system) of a process so far, in ms. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function batchFigures(options: { quick: boolean; record: RecordFigure; workspaces: string[] }): Promise<void> {
  const seeds = options.quick ? 40 : 200;
  process.stderr.write(`batch (${seeds} seeds × 3 tasks, the middle one batched)…\n`);
  const server = await startBatchServer();
  try {
    // All in real time.
    const realtimeRoot = await workspace(server.baseURL, false, seeds);
    options.workspaces.push(realtimeRoot);
    for (let n = 0; n < seeds; n++) await dropSeed(realtimeRoot, `s-${String(n).padStart(4, '0')}.json`, n);
    await execa(process.execPath, [join(REPO, 'orchestrator', 'manager.js'), 'start', '--once', '--root', realtimeRoot, '--concurrency', String(CONCURRENCY)]);
    const realtime = await totalCost(realtimeRoot);

    // The middle task batched, under a watching manager: measured idle first, then while the batch is open.
    const batchedRoot = await workspace(server.baseURL, true, seeds);
    options.workspaces.push(batchedRoot);
    const daemon = startDaemon(batchedRoot, ['--concurrency', String(CONCURRENCY)]);
    await daemon.next((event) => event.event === 'manager-ready');
    const pid = daemon.child.pid!;
    const idleFrom = await cpuMs(pid);
    await sleep(WAIT_MS);
    const idleCpu = (await cpuMs(pid)) - idleFrom;
    for (let n = 0; n < seeds; n++) await dropSeed(batchedRoot, `s-${String(n).padStart(4, '0')}.json`, n);
    await daemon.next((event) => event.event === 'batch-submitted', 300_000);
    // Every run parked: the batch holds them all. Nothing runs while it is open. Measured once the
    // submission's one-time work (each run's status noting the batch) is done.
    await sleep(SETTLE_MS);
    const waitFrom = await cpuMs(pid);
    let peak = 0;
    for (const until = Date.now() + WAIT_MS; Date.now() < until; await sleep(SAMPLE_MS)) peak = Math.max(peak, await taskProcesses(batchedRoot));
    const waitingCpu = (await cpuMs(pid)) - waitFrom;
    server.release();
    while (daemon.count('run-complete') < seeds) await sleep(100);
    await daemon.stop();
    const batched = await totalCost(batchedRoot);
    if (realtime.runs !== seeds || batched.runs !== seeds) throw new Error(`bench: ${realtime.runs} and ${batched.runs} of ${seeds} runs completed`);
    if (server.batches().length !== 1 || server.batches()[0]?.requests !== seeds)
      throw new Error(`bench: expected one batch of ${seeds} requests, got ${JSON.stringify(server.batches())}`);

    // Three calls of the same size per run, one of them at half price: (1 + 1 + 0.5) / 3 = 0.83.
    options.record(
      `batch: cost of ${seeds} runs × 3 tasks with the middle one batched (half price), vs all real time`,
      round(batched.costUsd * 100, 3),
      round(realtime.costUsd * 100, 3),
      'US cents',
      { kind: 'ratio', max: 0.84 },
    );
    // CPU is counted in clock ticks of 10 ms: an idle manager often spends none in 5 s.
    const perSecond = (ms: number) => round(ms / (WAIT_MS / 1000), 1);
    options.record(
      `batch: manager CPU per second while ${seeds} parked tasks wait for their batch (polled every 500 ms)${idleCpu === 0 ? '; the same manager idle: 0' : ', vs the same manager idle'}`,
      perSecond(waitingCpu),
      idleCpu === 0 ? undefined : perSecond(idleCpu),
      'ms',
      { kind: 'info', max: 0 },
    );
    options.record(`batch: peak task processes while ${seeds} tasks are parked (sampled every ${SAMPLE_MS} ms)`, peak, undefined, 'processes', {
      kind: 'absolute',
      max: 0,
    });
  } finally {
    await server.close();
  }
}
