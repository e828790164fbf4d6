/**
 * Guards a race: a seed whose last bytes land between the manager's lstat() and readFile() of it
 * could be claimed with the new bytes but the old mtime, so that claimSeed's removeIfUnchanged()
 * thought it rewritten, left it in pipeline-pending/, and the watcher's change event claimed the
 * same content a second time: two runs for one seed.
 *
 * The window is a fraction of a millisecond, so the test writes many seeds in two chunks with a
 * random gap between them; were the race back, some of them would be claimed twice.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATED_TASK, makeWorkspace, pendingSeeds, registryModule, runDirs, startDaemon, waitFor } from './support/workspace.js';

// GATED_TASK holds its run until the test creates <workspace>/gate (or the task is told to stop), so
// the scheduler stays busy with one run and the machine's time goes to claiming seeds, not running them.

const SEEDS = 100;

/** Busy-wait: sub-millisecond gaps that timers cannot give. Shapes the writer, synchronises nothing. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('claiming a seed that is finished while it is being inspected', () => {
  it('claims every seed exactly once', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'race', tasks: ['ask'] },
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': GATED_TASK,
    });
    const daemon = await startDaemon(ws, ['--concurrency', '1']);

    try {
      const names = Array.from({ length: SEEDS }, (_, i) => `s${String(i).padStart(3, '0')}.json`);
      for (const name of names) {
        const file = join(ws.pending, name);
        writeFileSync(file, '{"q": "par');
        spin(Math.random() * 3);
        appendFileSync(file, 'tial"}');
        await daemon.waitForEvent('seed-claimed', (line) => line.seed === name);
      }
      // A seed left behind by a claim stays in pending/ until it is claimed again.
      await waitFor(async () => (await pendingSeeds(ws)).length === 0, { description: 'every seed to leave pipeline-pending/' });

      const claims = new Map<string, string[]>();
      for (const line of daemon.events.filter((event) => event.event === 'seed-claimed')) {
        claims.set(String(line.seed), [...(claims.get(String(line.seed)) ?? []), String(line.run)]);
      }
      const claimedTwice = [...claims].filter(([, runs]) => runs.length > 1).map(([seed, runs]) => `${seed} → ${runs.join(', ')}`);
      expect(claimedTwice, 'seeds claimed more than once').toEqual([]);
      expect([...claims.keys()].sort()).toEqual(names);
      const runs = [...(await runDirs(ws.current)), ...(await runDirs(ws.complete))];
      expect(runs).toHaveLength(SEEDS);

      // No run was made from half a seed.
      for (const dir of await runDirs(ws.current)) {
        expect(await readFile(join(ws.current, dir, 'seed.json'), 'utf8')).toBe('{"q": "partial"}');
      }
    } finally {
      // Let the one running task finish, so the daemon can stop.
      writeFileSync(ws.path('gate'), '');
      await daemon.stop();
    }
  });
});
