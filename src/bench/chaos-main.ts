// `npm run chaos`: 50 seeds through a mock pipeline with two parallel branches while the manager is SIGKILLed at
// random moments (and now and then a task process); exits 1 on any loss or duplicate.
import { runChaos } from './chaos.js';

const seeds = Number(process.env.CHAOS_SEEDS ?? 50);
const kills = Number(process.env.CHAOS_KILLS ?? 25);
const report = await runChaos({ seeds, kills, childEvery: 5, maxPauseMs: 800, report: (line) => process.stderr.write(`${line}\n`) });
const figures: Array<[string, number | string]> = [
  ['seeds dropped', report.seeds],
  ['manager SIGKILLs', report.managerKills],
  ['task process SIGKILLs', report.childKills],
  ['run folders in pipeline-complete/', report.completedFolders],
  ['runs.jsonl lines', report.runsJsonlLines],
  ['distinct run ids', report.distinctIds],
  ['distinct seeds', report.distinctSeeds],
  ['torn lines', report.tornLines],
  ['left in pipeline-pending/', report.leftInPending],
  ['left in pipeline-current/', report.leftInCurrent],
  ['runs.jsonl lines missing a task', report.recordsMissingTasks],
];
for (const [name, value] of figures) process.stdout.write(`${name.padEnd(36)} ${value}\n`);
process.stdout.write(report.ok ? 'chaos: every seed completed exactly once\n' : 'chaos: FAILED: a seed was lost or ran twice\n');
process.exitCode = report.ok ? 0 : 1;
