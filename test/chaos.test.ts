/**
 * A smaller `npm run chaos`: the manager (and every third time a task process) is SIGKILLed at
 * random moments while seeds flow through, and restarted each time; in the end every seed must
 * have completed exactly once, with nothing left behind and no torn runs.jsonl line.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from '../src/bench/chaos.js';

describe('chaos: SIGKILLs at random moments while seeds flow', () => {
  it('8 seeds through 6 kills: every seed completes exactly once', async () => {
    const kills: string[] = [];
    const report = await runChaos({ seeds: 8, kills: 6, childEvery: 3, maxPauseMs: 400, randomSeed: 42, report: (line) => kills.push(line) });

    expect(report, kills.join('\n')).toEqual({
      seeds: 8,
      managerKills: report.managerKills,
      childKills: report.childKills,
      completedFolders: 8,
      runsJsonlLines: 8,
      distinctIds: 8,
      distinctSeeds: 8,
      tornLines: 0,
      leftInPending: 0,
      leftInCurrent: 0,
      recordsMissingTasks: 0,
      ok: true,
    });
    expect(report.managerKills + report.childKills).toBe(6);
    // Kills 3 and 6 go to a task process when one is running, else to the manager.
    expect(report.childKills).toBeLessThanOrEqual(2);
    expect(report.managerKills).toBeGreaterThanOrEqual(4);
    expect(kills).toHaveLength(6);
  }, 90_000);
});
