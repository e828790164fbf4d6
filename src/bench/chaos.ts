// Kill the manager (and now and then a task process) with SIGKILL at random moments while seeds
// flow through a pipeline with parallel branches, restart it each time, then check that every seed
// completed exactly once, every task of it complete.
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { seededRandom } from '../util/seeded-random.js';
import { startDaemon } from './daemon.js';
import { dropSeed, makeWorkspace, type BenchTaskEntry } from './workspace.js';

/**
 * start → (left, right, parts) → join: three branches run side by side, one of them a fan-out of
 * six items, so kills land while several tasks of a run, and several items of a task, are in
 * flight; a restarted attempt of `parts` reuses the items already done.
 */
export const CHAOS_TASKS: BenchTaskEntry[] = [
  { name: 'start', needs: [] },
  { name: 'left', needs: ['start'] },
  { name: 'right', needs: ['start'] },
  { name: 'parts', needs: ['start'], concurrency: 3 },
  { name: 'join', needs: ['left', 'right', 'parts'] },
];
/** Task modules other than the trivial one, by task name. */
export const CHAOS_MODULES: Record<string, string> = {
  parts: `/** @type {import('pop').TaskDefinition} */
export default {
  each: ({ seed }) => Array.from({ length: 6 }, (_, i) => 'part ' + (i + 1) + ' of seed ' + String(seed.n)),
  prompt: (part) => 'Say one thing about ' + part + '. Keep it short.',
  finalize: (values) => values.length,
};
`,
};

export interface ChaosOptions {
  seeds: number;
  /** SIGKILLs in all; every `childEvery`-th one hits a task process instead of the manager. */
  kills: number;
  childEvery: number;
  /** Longest pause between kills. */
  maxPauseMs: number;
  /** For a reproducible sequence of pauses. */
  randomSeed?: number;
  report?: (line: string) => void;
}

export interface ChaosReport {
  seeds: number;
  managerKills: number;
  childKills: number;
  completedFolders: number;
  runsJsonlLines: number;
  distinctIds: number;
  distinctSeeds: number;
  tornLines: number;
  leftInPending: number;
  leftInCurrent: number;
  /** runs.jsonl lines that do not list every task of the pipeline. */
  recordsMissingTasks: number;
  ok: boolean;
}

async function childrenOf(pid: number): Promise<number[]> {
  const { stdout } = await execa('ps', ['-o', 'pid=', '--ppid', String(pid)], { reject: false });
  return stdout
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((n) => n > 0);
}

// Crash-left copies of claimed seeds are set aside in pipeline-pending/duplicates/: not seeds still to run.
const visible = async (dir: string) =>
  (await readdir(dir).catch(() => [] as string[])).filter(
    (name) => !name.startsWith('.') && name !== 'rejected' && name !== 'duplicates' && name !== 'runs.jsonl',
  );

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.report ?? (() => {});
  const next = seededRandom(options.randomSeed ?? Date.now());
  const root = await makeWorkspace({ tasks: CHAOS_TASKS, modules: CHAOS_MODULES });
  try {
    let daemon = startDaemon(root);
    let dropped = 0;
    let managerKills = 0;
    let childKills = 0;
    const perRound = Math.ceil(options.seeds / Math.max(1, options.kills - 1));
    for (let kill = 1; kill <= options.kills; kill++) {
      for (let i = 0; i < perRound && dropped < options.seeds; i++, dropped++) await dropSeed(root, `chaos-${String(dropped).padStart(4, '0')}.json`, dropped);
      await sleep(Math.floor(next() * options.maxPauseMs));
      const children = kill % options.childEvery === 0 ? await childrenOf(daemon.child.pid!) : [];
      if (children.length > 0) {
        const victim = children[Math.floor(next() * children.length)]!;
        process.kill(victim, 'SIGKILL');
        childKills++;
        say(`kill ${kill}: task process ${victim}`);
        continue;
      }
      daemon.child.kill('SIGKILL');
      await daemon.child;
      managerKills++;
      say(`kill ${kill}: manager ${daemon.child.pid} (${dropped}/${options.seeds} seeds dropped)`);
      daemon = startDaemon(root);
    }
    for (; dropped < options.seeds; dropped++) await dropSeed(root, `chaos-${String(dropped).padStart(4, '0')}.json`, dropped);

    // Let the last manager finish everything.
    const deadline = Date.now() + 10 * 60_000;
    while (Date.now() < deadline) {
      const pending = await visible(join(root, 'pipeline-pending'));
      const current = await visible(join(root, 'pipeline-current'));
      const done = await visible(join(root, 'pipeline-complete'));
      if (pending.length === 0 && current.length === 0 && done.length >= options.seeds) break;
      await sleep(200);
    }
    await daemon.stop();

    const text = await readFile(join(root, 'pipeline-complete', 'runs.jsonl'), 'utf8').catch(() => '');
    const lines = text.split('\n').filter(Boolean);
    const records: Array<{ id: string; seed: string; tasks: Array<{ name: string }> }> = [];
    let tornLines = 0;
    for (const line of lines) {
      try {
        records.push(JSON.parse(line) as { id: string; seed: string; tasks: Array<{ name: string }> });
      } catch {
        tornLines++;
      }
    }
    const report: ChaosReport = {
      seeds: options.seeds,
      managerKills,
      childKills,
      completedFolders: (await visible(join(root, 'pipeline-complete'))).length,
      runsJsonlLines: lines.length,
      distinctIds: new Set(records.map((record) => record.id)).size,
      distinctSeeds: new Set(records.map((record) => record.seed)).size,
      tornLines,
      leftInPending: (await visible(join(root, 'pipeline-pending'))).length,
      leftInCurrent: (await visible(join(root, 'pipeline-current'))).length,
      recordsMissingTasks: records.filter((record) => record.tasks.length !== CHAOS_TASKS.length).length,
      ok: false,
    };
    report.ok =
      report.completedFolders === options.seeds &&
      report.runsJsonlLines === options.seeds &&
      report.distinctIds === options.seeds &&
      report.distinctSeeds === options.seeds &&
      report.tornLines === 0 &&
      report.leftInPending === 0 &&
      report.leftInCurrent === 0 &&
      report.recordsMissingTasks === 0 &&
      (await visible(join(root, 'pipeline-pending', 'rejected'))).length === 0;
    return report;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
