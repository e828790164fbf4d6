import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutputSchema } from '../src/formats/output.js';
import { RunStatusSchema, type RunStatus } from '../src/formats/tasks-status.js';
import type { TaskFailure } from '../src/formats/task-failure.js';
import { makeWorkspace, pendingSeeds, readRunRecords, readValid, registryModule, runDirs, runPop, type Workspace } from './support/workspace.js';

const PREPARE_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ summary: z.string().min(1) }),
  prompt: ({ seed }) => \`Summarise the case called \${seed.name}\`,
});
`;

// Misbehaves the way the seed asks it to; with any other seed it is an ordinary task.
const RISKY_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ verdict: z.string().min(1) }),
  prompt: ({ seed, inputs }) => {
    if (seed.mode === 'throw') throw new Error('risky task blew up on purpose');
    if (seed.mode === 'exit') process.exit(3);
    if (seed.mode === 'hang') return new Promise(() => { setInterval(() => {}, 1000); });
    return \`Give a verdict on: \${inputs.prepare.summary}\`;
  },
});
`;

async function isolationWorkspace(mode: string, risky: Record<string, unknown> = {}): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': { name: 'isolation', tasks: ['prepare', { name: 'risky', ...risky }] },
    'pipeline-tasks/index.js': registryModule(['prepare', 'risky']),
    'pipeline-tasks/prepare.js': PREPARE_TASK,
    'pipeline-tasks/risky.js': RISKY_TASK,
    'pipeline-pending/bad.json': { name: 'the bad one', mode },
    'pipeline-pending/good.json': { name: 'the good one', mode: 'behave' },
  });
}

/** Run the batch; the bad seed's run must fail (and stay) and the good one's complete. Returns the failed run's status. */
async function runBatch(ws: Workspace): Promise<{ status: RunStatus; error: TaskFailure }> {
  const result = await runPop(ws, ['start', '--once', '--concurrency', '2']);
  expect(result.exitCode, result.stderr).toBe(1);
  expect(result.stderr).toContain('1 run(s) complete, 1 failed, 0 seed(s) rejected');
  expect(result.stderr).not.toContain('internal error');
  expect(result.events.filter((line) => line.event === 'internal-error')).toEqual([]);
  expect(result.events[0]).toMatchObject({ event: 'manager-started', concurrency: 2, once: true });

  // The healthy seed completed, in the same batch.
  const completeRuns = await runDirs(ws.complete);
  expect(completeRuns).toHaveLength(1);
  const good = await readValid(RunStatusSchema, join(ws.complete, completeRuns[0] as string, 'tasks-status.json'));
  expect(good).toMatchObject({ state: 'complete', source: { file: 'good.json' } });
  expect(good.tasks.risky).toMatchObject({ state: 'complete', attempts: 1 });
  const goodOutput = await readValid(OutputSchema, join(ws.complete, good.id, 'tasks', 'risky', 'output.json'));
  expect(goodOutput.value).toEqual({ verdict: expect.any(String) });
  const records = await readRunRecords(ws);
  expect(records.map((record) => [record.id, record.seed])).toEqual([[good.id, 'good.json']]);

  // The misbehaving seed's run failed at the risky task and stays in pipeline-current/.
  const currentRuns = await runDirs(ws.current);
  expect(currentRuns).toHaveLength(1);
  const status = await readValid(RunStatusSchema, join(ws.current, currentRuns[0] as string, 'tasks-status.json'));
  expect(status).toMatchObject({ id: currentRuns[0], state: 'failed', running: [], source: { file: 'bad.json' } });
  expect(status.tasks.prepare).toMatchObject({ state: 'complete' });
  expect(status.tasks.risky).toMatchObject({ state: 'failed', attempts: 1 });
  const error = status.tasks.risky?.error;
  expect(error).toBeDefined();
  expect(status.error).toEqual({ ...error, task: 'risky' });
  expect(result.events).toContainEqual(expect.objectContaining({ event: 'run-failed', run: status.id, task: 'risky', reason: error?.reason }));
  expect(result.events).toContainEqual(expect.objectContaining({ event: 'run-complete', run: good.id }));

  expect(await pendingSeeds(ws)).toEqual([]);
  return { status, error: error as TaskFailure };
}

describe('a misbehaving task is contained in its own process', () => {
  it('a prompt that throws fails its run with task-threw; the other seed completes', async () => {
    const ws = await isolationWorkspace('throw');
    const { error } = await runBatch(ws);
    expect(error).toMatchObject({ reason: 'task-threw', stage: 'prompt' });
    expect(error.message).toContain('risky task blew up on purpose');
    expect(error.stack).toContain('Error: risky task blew up on purpose');
    expect(error.stack).toContain('risky.js');
  });

  it('a task that calls process.exit(3) fails its run with exit-non-zero; the other seed completes', async () => {
    const ws = await isolationWorkspace('exit');
    const { error } = await runBatch(ws);
    expect(error).toMatchObject({ reason: 'exit-non-zero', exitCode: 3 });
    expect(error.message).toContain('exited with code 3');
  });

  it('a task that hangs past timeoutMs fails its run with timeout; the other seed completes', async () => {
    // The limit is per step, so the healthy seed's run of this step must fit in it too: its process
    // start alone took up to ~1 s on a loaded 2-core machine, hence 3 s rather than something tighter.
    const ws = await isolationWorkspace('hang', { timeoutMs: 3000 });
    const { error } = await runBatch(ws);
    expect(error.reason).toBe('timeout');
    expect(error.message).toContain('time limit of 3000 ms');
  });
});
