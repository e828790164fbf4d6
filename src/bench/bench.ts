// `npm run bench [-- --quick]`: POP's own cost, each figure beside a baseline measured the same way
// on the same machine a moment before. Prints a table and writes bench/results.json.
import { execa } from 'execa';
import { watch } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiBound, bareSpawnCpuMs, cachedCallCost, cpuPerTaskProcess, rateLimited } from './api-figures.js';
import { childrenCpuMs } from './api-bound.js';
import { startDaemon } from './daemon.js';
import { fanOut } from './fan-out.js';
import { queueFigures } from './queue-figures.js';
import { escalationFigures } from './escalation.js';
import { batchFigures } from './batch.js';
import { median, percentile, round } from './stats.js';
import { startSlowOpenAiServer } from './slow-openai-server.js';
import { REPO, dropSeed, fakeCompletedRuns, makeWorkspace, type BenchTaskEntry } from './workspace.js';

interface Row {
  figure: string;
  value: number;
  baseline: number | null;
  unit: string;
  ratio: number | null;
  target: string;
  pass: boolean;
}
/** ratio: value ÷ baseline ≤ max; at-least: value ÷ baseline ≥ max; absolute: value ≤ max; info: no target. */
type Target = { kind: 'ratio' | 'absolute' | 'at-least' | 'info'; max: number };
interface RunLine {
  id: string;
  seed: string;
  durationMs: number;
  tasks: unknown[];
}

const quick = process.argv.includes('--quick');
/** `--only per-task,pickup,throughput,memory,fan-out,cpu,api,rate,cache,branches,queue,escalation,batch`: measure just those figures. */
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const wanted = (figure: string) => !only || only.includes(figure);
const SIZES = quick
  ? { spawns: 15, perTaskRuns: 10, pickups: 15, throughputSeeds: 60, queuedSeeds: 200, completedRuns: 2000, branchRuns: 3 }
  : { spawns: 30, perTaskRuns: 30, pickups: 30, throughputSeeds: 1000, queuedSeeds: 1000, completedRuns: 10000, branchRuns: 7 };
/** `--api-seeds=N`: N of the API-bound figure (200 by default; 20 with --quick). */
const apiSeedsArg = Number(process.argv.find((arg) => arg.startsWith('--api-seeds='))?.slice('--api-seeds='.length));
const API_SIZES = {
  cpuSeeds: quick ? 10 : 40,
  apiSeeds: Number.isInteger(apiSeedsArg) && apiSeedsArg > 0 ? apiSeedsArg : quick ? 20 : 200,
  rateCalls: quick ? 120 : 240,
};
const MANAGER = join(REPO, 'orchestrator', 'manager.js');
const rows: Row[] = [];
const workspaces: string[] = [];

function record(figure: string, value: number, baseline: number | undefined, unit: string, target: Target): void {
  const ratio = baseline === undefined ? undefined : value / baseline;
  const pass =
    target.kind === 'info'
      ? true
      : target.kind === 'ratio'
        ? ratio !== undefined && ratio <= target.max
        : target.kind === 'at-least'
          ? ratio !== undefined && ratio >= target.max
          : value <= target.max;
  const targetText = { ratio: `≤${target.max}×`, 'at-least': `≥${target.max}×`, absolute: `≤ ${target.max} ${unit}`, info: '-' }[target.kind];
  rows.push({
    figure,
    value: round(value),
    baseline: baseline === undefined ? null : round(baseline),
    unit,
    ratio: ratio === undefined ? null : round(ratio, 2),
    target: targetText,
    pass,
  });
  process.stderr.write(
    `  ${figure}: ${round(value)} ${unit}${baseline === undefined || ratio === undefined ? '' : ` (baseline ${round(baseline)} ${unit}, ${round(ratio, 2)}×)`} ${pass ? 'pass' : 'FAIL'}\n`,
  );
}

async function workspace() {
  const root = await makeWorkspace();
  workspaces.push(root);
  return root;
}

/** Wall time of `count` bare `node -e 0` spawns through execa, `concurrency` at a time. */
async function bareSpawns(count: number, concurrency: number): Promise<{ wallMs: number; times: number[] }> {
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const t0 = performance.now();
        await execa(process.execPath, ['-e', '0']);
        times.push(performance.now() - t0);
      }
    }),
  );
  return { wallMs: performance.now() - started, times };
}

async function runsJsonl(root: string): Promise<RunLine[]> {
  const text = await readFile(join(root, 'pipeline-complete', 'runs.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RunLine);
}

/** CPU per task of the whole tree (manager and task processes), mock pipeline, one task at a time; then `pop status` in that workspace. */
async function perTaskCost() {
  process.stderr.write('per-task CPU…\n');
  const bare = await bareSpawnCpuMs(SIZES.spawns);
  const root = await workspace();
  for (let i = 0; i < SIZES.perTaskRuns; i++) await dropSeed(root, `seed-${String(i).padStart(4, '0')}.json`, i);
  const before = await childrenCpuMs();
  await execa(process.execPath, [MANAGER, 'start', '--once', '--json', '--concurrency', '1', '--root', root]);
  const treeCpuMs = (await childrenCpuMs()) - before;
  const tasks = (await runsJsonl(root)).reduce((sum, run) => sum + run.tasks.length, 0);
  record('CPU per task, manager and task process together (3-task mock pipeline, C = 1)', treeCpuMs / tasks, bare, 'ms', { kind: 'ratio', max: 1.3 });

  process.stderr.write('pop status CPU…\n');
  const statusBefore = await childrenCpuMs();
  for (let i = 0; i < SIZES.spawns; i++) await execa(process.execPath, [MANAGER, 'status', '--root', root]);
  record(`CPU of \`pop status\` (${SIZES.perTaskRuns} completed runs)`, ((await childrenCpuMs()) - statusBefore) / SIZES.spawns, bare, 'ms', {
    kind: 'ratio',
    max: 3,
  });
}

async function pickupLatency() {
  process.stderr.write('pick-up latency…\n');
  const root = await workspace();
  // Baseline: how long the file system takes to tell a watcher about the same rename.
  const watchLatencies: number[] = [];
  const probeDir = join(root, 'pipeline-current');
  for (let i = 0; i < SIZES.pickups; i++) {
    const seen = new Promise<number>((resolve) => {
      const watcher = watch(probeDir, () => {
        watcher.close();
        resolve(performance.now());
      });
    });
    await writeFile(join(root, `.probe-${i}`), '{}');
    const t0 = performance.now();
    await rename(join(root, `.probe-${i}`), join(probeDir, `probe-${i}.json`));
    watchLatencies.push((await seen) - t0);
    await rm(join(probeDir, `probe-${i}.json`));
  }
  const daemon = startDaemon(root);
  await daemon.next((event) => event.event === 'manager-ready');
  const latencies: number[] = [];
  for (let i = 0; i < SIZES.pickups; i++) {
    const name = `pickup-${i}.json`;
    const claimed = daemon.next((event) => event.event === 'seed-claimed' && event.seed === name);
    const done = daemon.next((event) => event.event === 'run-complete');
    const t0 = performance.now();
    await dropSeed(root, name, i);
    latencies.push((await claimed).at - t0);
    await done;
  }
  await daemon.stop();
  record('pick-up latency p50 (seed renamed in → run folder created)', median(latencies), median(watchLatencies), 'ms', { kind: 'absolute', max: 100 });
  record('pick-up latency p95', percentile(latencies, 95), percentile(watchLatencies, 95), 'ms', { kind: 'absolute', max: 100 });
}

async function throughput() {
  process.stderr.write(`throughput (${SIZES.throughputSeeds} seeds × 3 tasks)…\n`);
  const bare = await bareSpawns(SIZES.throughputSeeds * 3, 2);
  const root = await workspace();
  for (let i = 0; i < SIZES.throughputSeeds; i++) await dropSeed(root, `seed-${String(i).padStart(5, '0')}.json`, i);
  const t0 = performance.now();
  await execa(process.execPath, [MANAGER, 'start', '--once', '--json', '--concurrency', '2', '--root', root], { buffer: false, stdout: 'ignore' });
  const wallMs = performance.now() - t0;
  const runs = await runsJsonl(root);
  const ids = new Set(runs.map((run) => run.id));
  const folders = (await readdir(join(root, 'pipeline-complete'))).filter((name) => name !== 'runs.jsonl');
  const seeds = new Set(runs.map((run) => run.seed));
  record(`throughput wall time, ${SIZES.throughputSeeds} seeds × 3 tasks, concurrency 2`, wallMs / 1000, bare.wallMs / 1000, 's', { kind: 'ratio', max: 1.3 });
  record('runs completed', seeds.size, SIZES.throughputSeeds, 'runs', { kind: 'ratio', max: 1 });
  rows.at(-1)!.pass = seeds.size === SIZES.throughputSeeds && folders.length === SIZES.throughputSeeds;
  record('runs duplicated', runs.length - ids.size + (runs.length - seeds.size), undefined, 'runs', { kind: 'absolute', max: 0 });
}

/**
 * Three branches side by side, each a task waiting BRANCH_WAIT_MS on a local OpenAI-compatible
 * server, against a pipeline of one such branch: run wall times (runs.jsonl's durationMs), one seed
 * at a time, the same manager setup for both.
 */
const BRANCH_WAIT_MS = 300;
async function parallelBranches() {
  process.stderr.write(`three parallel branches (${SIZES.branchRuns} runs each)…\n`);
  const server = await startSlowOpenAiServer(BRANCH_WAIT_MS);
  try {
    const pipeline = { providers: { local: { type: 'openai', baseURL: server.baseURL } }, models: { default: 'local:bench' } };
    const manager = async (tasks: BenchTaskEntry[]) => {
      const root = await makeWorkspace({ tasks, pipeline });
      workspaces.push(root);
      const daemon = startDaemon(root, ['--concurrency', '3']);
      await daemon.next((event) => event.event === 'manager-ready');
      const walls: number[] = [];
      return {
        walls,
        runOne: async (i: number) => {
          const done = daemon.next((event) => event.event === 'run-complete');
          await dropSeed(root, `branch-${i}.json`, i);
          walls.push(Number((await done).event.durationMs));
        },
        stop: () => daemon.stop(),
      };
    };
    const one = await manager([{ name: 'a', needs: [] }]);
    const three = await manager([
      { name: 'a', needs: [] },
      { name: 'b', needs: [] },
      { name: 'c', needs: [] },
    ]);
    // Alternated, one run at a time, so both see the same load on the machine.
    for (let i = 0; i < SIZES.branchRuns; i++) {
      await one.runOne(i);
      await three.runOne(i);
    }
    await Promise.all([one.stop(), three.stop()]);
    record(
      `run wall time, three parallel branches each waiting ${BRANCH_WAIT_MS} ms on a local server (median of ${SIZES.branchRuns})`,
      median(three.walls),
      median(one.walls),
      'ms',
      { kind: 'ratio', max: 1.3 },
    );
  } finally {
    await server.close();
  }
}

async function managerFootprint() {
  process.stderr.write(`manager memory and start-up (${SIZES.queuedSeeds} queued, ${SIZES.completedRuns} completed)…\n`);
  const startup = async (completed: number) => {
    const root = await workspace();
    if (completed) await fakeCompletedRuns(root, completed);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const daemon = startDaemon(root);
      times.push((await daemon.next((event) => event.event === 'manager-ready')).at - daemon.started);
      await daemon.stop();
    }
    return { root, ms: median(times) };
  };
  const empty = await startup(0);
  const full = await startup(SIZES.completedRuns);
  record(`manager start-up with ${SIZES.completedRuns} completed runs`, full.ms, empty.ms, 'ms', { kind: 'ratio', max: 1.3 });

  for (let i = 0; i < SIZES.queuedSeeds; i++) await dropSeed(full.root, `queued-${String(i).padStart(5, '0')}.json`, i);
  const daemon = startDaemon(full.root);
  while (daemon.count('seed-claimed') < SIZES.queuedSeeds) await sleep(50);
  const status = await readFile(`/proc/${daemon.child.pid}/status`, 'utf8').catch(() => '');
  const peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  await daemon.stop();
  record(`manager peak RSS, ${SIZES.queuedSeeds} seeds queued + ${SIZES.completedRuns} completed runs`, peakKb / 1024, undefined, 'MB', {
    kind: 'absolute',
    max: 120,
  });
}

async function main() {
  const started = Date.now();
  const startLoad = loadavg().map((n) => round(n, 2));
  try {
    if (wanted('per-task')) await perTaskCost();
    if (wanted('pickup')) await pickupLatency();
    if (wanted('throughput')) await throughput();
    if (wanted('memory')) await managerFootprint();
    if (wanted('fan-out')) await fanOut({ quick, workspace, record });
    const bareCpu = wanted('cpu') || wanted('api') ? await cpuPerTaskProcess(API_SIZES, record, workspaces) : 0;
    if (wanted('api')) await apiBound(API_SIZES, bareCpu, record, workspaces);
    if (wanted('rate')) await rateLimited(API_SIZES, record, workspaces);
    if (wanted('cache')) await cachedCallCost(record);
    if (wanted('branches')) await parallelBranches();
    if (wanted('queue')) await queueFigures({ quick, record, workspaces });
    if (wanted('escalation')) await escalationFigures({ quick, workspace, record });
    if (wanted('batch')) await batchFigures({ quick, record, workspaces });
  } finally {
    await Promise.all(workspaces.map((root) => rm(root, { recursive: true, force: true })));
  }
  const header = ['figure', 'POP', 'baseline', 'ratio', 'target', 'result'];
  const cells = rows.map((row) => [
    row.figure,
    `${row.value} ${row.unit}`,
    row.baseline === null ? '-' : `${row.baseline} ${row.unit}`,
    row.ratio === null ? '-' : `${row.ratio}×`,
    row.target,
    row.pass ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((cell, i) => Math.max(cell.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(`\n${line(header)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n${cells.map(line).join('\n')}\n`);
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    platform: process.platform,
    loadAverageAtStart: startLoad,
    loadAverageAtEnd: loadavg().map((n) => round(n, 2)),
  };
  const commit = (await execa('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, reject: false })).stdout || 'unknown';
  const date = new Date(started).toISOString();
  await mkdir(join(REPO, 'bench'), { recursive: true });
  await writeFile(
    join(REPO, 'bench', 'results.json'),
    `${JSON.stringify({ quick, date, commit, machine, durationS: round((Date.now() - started) / 1000), rows }, null, 2)}\n`,
  );
  // The same table in Markdown, headed by when, on what and from which commit it was measured.
  const about = `Measured by \`npm run bench${quick ? ' -- --quick' : ''}\` on ${date.slice(0, 16).replace('T', ' ')} UTC, commit ${commit}, Node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}; load average ${startLoad.join(' ')} at the start, ${machine.loadAverageAtEnd.join(' ')} at the end; ${round((Date.now() - started) / 1000)} s in all.`;
  await writeFile(
    join(REPO, 'bench', 'results.md'),
    `${about}\n\n${line(header)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n${cells.map(line).join('\n')}\n`,
  );
  process.stdout.write(`\nwritten: bench/results.json and bench/results.md (${round((Date.now() - started) / 1000)} s)\n`);
}

await main();
