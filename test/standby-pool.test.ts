/**
 * Warm standby task processes follow the work: as many as tasks waiting for a slot, plus one, never
 * more than --concurrency + 1; none once idle for a while (POP_STANDBY_IDLE_MS, short here); none
 * at all for a manager whose tasks run on a queue's workers.
 */
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { hasRedis, INSTALL_REDIS, startRedis, type RedisServer } from './support/redis.js';
import { ASK_TASK, GATED_TASK, makeWorkspace, registryModule, runnerChildren, startDaemon, waitFor, type Workspace } from './support/workspace.js';

// A standby keeps its command line (`--standby`) when it is handed a task: count them all.
const processes = async (ws: Workspace) => (await runnerChildren(ws)).length;

let redis: RedisServer | undefined;
afterEach(async () => {
  delete process.env.POP_STANDBY_IDLE_MS;
  await redis?.close();
  redis = undefined;
});

/** Four gated tasks side by side: all ready at once, held until the test opens the gate. */
function branchesWorkspace(seeds: number): Promise<Workspace> {
  const names = ['a', 'b', 'c', 'd'];
  const files: Record<string, string | object> = {
    'pipeline.json': { name: 'p', tasks: names.map((name) => ({ name, needs: [] })) },
    'pipeline-tasks/index.js': registryModule(names),
  };
  for (const name of names) files[`pipeline-tasks/${name}.js`] = GATED_TASK;
  for (let i = 0; i < seeds; i++) files[`pipeline-pending/s${i}.json`] = { q: `Question ${i}?` };
  return makeWorkspace(files);
}

describe('warm standby task processes', () => {
  it('number as many as tasks waiting for a slot, plus one, and never more than --concurrency + 1', async () => {
    // --concurrency 8, one task running: one standby, not nine.
    const one = await makeWorkspace({
      'pipeline.json': { name: 'p', tasks: ['gated'] },
      'pipeline-tasks/index.js': registryModule(['gated']),
      'pipeline-tasks/gated.js': GATED_TASK,
      'pipeline-pending/s.json': { q: 'Why?' },
    });
    const wide = await startDaemon(one, ['--json', '--concurrency', '8']);
    await wide.waitForEvent('task-started');
    await waitFor(async () => (await processes(one)) === 2, { description: 'the task and one standby' });
    for (let i = 0; i < 10; i++) expect(await processes(one)).toBe(2);
    await writeFile(one.path('gate'), '');
    await wide.waitForEvent('run-complete');
    await wide.stop();

    // --concurrency 1, four tasks ready: one runs, three wait; two standbys (the bound), not four.
    const branches = await branchesWorkspace(1);
    const narrow = await startDaemon(branches, ['--json', '--concurrency', '1']);
    await narrow.waitForEvent('task-started');
    await waitFor(async () => (await processes(branches)) === 3, { description: 'the task and two standbys' });
    for (let i = 0; i < 10; i++) expect(await processes(branches)).toBeLessThanOrEqual(3);
    await writeFile(branches.path('gate'), '');
    await narrow.waitForEvent('run-complete');
    await narrow.stop();
  });

  it('retire once none has been taken for a while', async () => {
    process.env.POP_STANDBY_IDLE_MS = '300';
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'p', tasks: ['ask'] },
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': ASK_TASK,
      'pipeline-pending/s.json': { q: 'Why?' },
    });
    const daemon = await startDaemon(ws, ['--json', '--concurrency', '4']);
    await daemon.waitForEvent('run-complete');
    await waitFor(async () => (await runnerChildren(ws)).length === 0, { description: 'the idle standbys to retire' });
    // Work again after that: a seed still runs.
    await writeFile(ws.path('pipeline-pending', 's2.json'), JSON.stringify({ q: 'And now?' }));
    await daemon.waitForEvent('run-complete', (line) => String(line.run).includes('s2'));
    await daemon.stop();
  });

  it.skipIf(!hasRedis)(`none for a manager whose tasks run on a queue (needs redis-server: ${INSTALL_REDIS})`, async () => {
    redis = await startRedis();
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'p', tasks: ['ask'] },
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': ASK_TASK,
    });
    // The same manager without --queue has its standby by now.
    const local = await startDaemon(ws, ['--json']);
    await waitFor(async () => (await processes(ws)) === 1, { description: "the local manager's standby" });
    await local.stop();
    await waitFor(async () => (await runnerChildren(ws)).length === 0, { description: 'its standby to end' });
    const queued = await startDaemon(ws, ['--json', '--queue', redis.url]);
    expect(await runnerChildren(ws)).toEqual([]);
    await queued.stop();
  });
});
