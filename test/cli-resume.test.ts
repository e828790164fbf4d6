/**
 * resume and rerun --from as real processes: without a manager they run the run themselves under
 * its lock; with a manager running they hand it over through pipeline-current/.requests/.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LetterSchema } from '../src/formats/letter.js';
import { expectSameTree, onlyCurrentRun, pop, popInBackground, readStatus, snapshotTree, taskSource, TASK_SLEEP, writeFiles } from './support/cli.js';
import { listDir, makeWorkspace, readRunRecords, readValid, registryModule, runDirs, startDaemon, waitFor, type Workspace } from './support/workspace.js';

const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

const FACTS = taskSource(`  output: z.object({ facts: z.array(z.string()).min(1) }),
  prompt: ({ seed }) => \`List facts about \${seed.topic}.\`,`);

const BROKEN_SUMMARY = taskSource(`  output: z.object({ summary: z.string().min(1) }),
  prompt: () => {
    throw new Error('the summary prompt is not written yet');
  },`);

const FIXED_SUMMARY = taskSource(`  output: z.object({ summary: z.string().min(1) }),
  prompt: ({ inputs }) => \`Summarize these facts: \${inputs.facts.facts.join('; ')}\`,`);

// Slow enough (1.5 s in its prompt) that two processes started together overlap on the run.
const SLOW_FIXED_SUMMARY = taskSource(
  `  output: z.object({ summary: z.string().min(1) }),
  prompt: async ({ inputs }) => {
    await sleep(1500);
    return \`Summarize these facts: \${inputs.facts.facts.join('; ')}\`;
  },`,
  TASK_SLEEP,
);

const PIPELINE = { name: 'facts-summary', tasks: ['facts', 'summary'] };

/** A workspace whose one run has failed in summary (start --once exit 1); returns its id. */
async function failedRun(files: Record<string, string | object> = {}): Promise<{ ws: Workspace; id: string }> {
  const ws = await makeWorkspace({
    'pipeline.json': PIPELINE,
    'pipeline-tasks/index.js': registryModule(['facts', 'summary']),
    'pipeline-tasks/facts.js': FACTS,
    'pipeline-tasks/summary.js': BROKEN_SUMMARY,
    'pipeline-pending/owls.json': { topic: 'owls' },
    ...files,
  });
  const start = await pop(ws, ['start', '--once']);
  expect(start.exitCode, start.stderr).toBe(1);
  const id = await onlyCurrentRun(ws);
  const status = await readStatus(join(ws.current, id));
  expect(status).toMatchObject({ state: 'failed', running: [], error: { task: 'summary', reason: 'task-threw', stage: 'prompt' } });
  expect(status.tasks.facts).toMatchObject({ state: 'complete', attempts: 1 });
  expect(status.tasks.summary).toMatchObject({ state: 'failed', attempts: 1 });
  return { ws, id };
}

const eventsOf = (events: { event: string; [key: string]: unknown }[], name: string) => events.filter((line) => line.event === name);

describe('resume', () => {
  it('after the failing task is fixed on disk, continues at that task and completes the run', async () => {
    const { ws, id } = await failedRun();
    const factsBefore = await snapshotTree(join(ws.current, id, 'tasks', 'facts'));
    await writeFile(ws.path('pipeline-tasks', 'summary.js'), FIXED_SUMMARY);

    const result = await pop(ws, ['resume', id]);

    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe(`pop: run ${id} complete`);
    // Only summary ran, as its second attempt.
    expect(eventsOf(result.events, 'task-started').map((line) => [line.task, line.attempt])).toEqual([['summary', 2]]);
    expect(eventsOf(result.events, 'run-complete')).toMatchObject([{ run: id, dir: join(ws.complete, id) }]);

    expect(await runDirs(ws.current)).toEqual([]);
    expect(await runDirs(ws.complete)).toEqual([id]);
    const runDir = join(ws.complete, id);
    const status = await readStatus(runDir);
    expect(status).toMatchObject({ id, state: 'complete', running: [] });
    expect(status.error).toBeUndefined();
    expect(status.tasks.facts).toMatchObject({ state: 'complete', attempts: 1, usage: { calls: 1 } });
    expect(status.tasks.summary).toMatchObject({ state: 'complete', attempts: 2, usage: { calls: 1 }, model: 'mock:default' });
    expect(status.tasks.summary!.error).toBeUndefined();
    // facts was not run again: its folder is as it was, byte for byte.
    expectSameTree(await snapshotTree(join(runDir, 'tasks', 'facts')), factsBefore);
    const output = JSON.parse(await readFile(join(runDir, 'tasks', 'summary', 'output.json'), 'utf8')) as { task: string; value: { summary: string } };
    expect(output.task).toBe('summary');
    expect(output.value.summary.length).toBeGreaterThan(0);

    const records = await readRunRecords(ws);
    expect(records.map((record) => record.id)).toEqual([id]);
    expect(records[0]!.tasks.map((task) => [task.name, task.attempts])).toEqual([
      ['facts', 1],
      ['summary', 2],
    ]);
    // The lock is released.
    expect(await listDir(ws.path('pipeline-current', '.locks'))).toEqual([]);
  });

  it("--pipeline takes the fix made in pipeline.json; without it the run's snapshot is used and fails again", async () => {
    // Two versions of summary are registered; the pipeline names the broken one.
    const { ws, id } = await failedRun({
      'pipeline.json': { name: 'facts-summary', tasks: ['facts', { name: 'summary', task: 'summary-v1' }] },
      'pipeline-tasks/index.js': registryModule(['facts', 'summary-v1', 'summary-v2']),
      'pipeline-tasks/summary-v1.js': BROKEN_SUMMARY,
      'pipeline-tasks/summary-v2.js': FIXED_SUMMARY,
    });
    const runDir = join(ws.current, id);
    const snapshotBefore = await readFile(join(runDir, 'pipeline.json'));
    const fixedPipeline = `${JSON.stringify({ name: 'facts-summary', tasks: ['facts', { name: 'summary', task: 'summary-v2' }] }, null, 2)}\n`;
    await writeFile(ws.pipelineFile, fixedPipeline);

    const again = await pop(ws, ['resume', id]);
    expect(again.exitCode, again.stderr).toBe(1);
    expect(again.stderr).toBe(`pop: run ${id} failed; see: pop status ${id}`);
    expect((await readFile(join(runDir, 'pipeline.json'))).equals(snapshotBefore)).toBe(true);
    const failedAgain = await readStatus(runDir);
    expect(failedAgain).toMatchObject({ state: 'failed', error: { task: 'summary', message: 'prompt threw: the summary prompt is not written yet' } });
    expect(failedAgain.tasks.summary).toMatchObject({ state: 'failed', attempts: 2 });
    expect((await readValid(LetterSchema, join(runDir, 'tasks', 'summary', 'letter.json'))).module).toBe('summary-v1');

    const fixed = await pop(ws, ['resume', id, '--pipeline']);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    expect(fixed.stderr).toBe(`pop: run ${id} complete`);
    const doneDir = join(ws.complete, id);
    const status = await readStatus(doneDir);
    expect(status.state).toBe('complete');
    expect(status.tasks.facts).toMatchObject({ state: 'complete', attempts: 1 });
    expect(status.tasks.summary).toMatchObject({ state: 'complete', attempts: 3 });
    // The run's snapshot is now the workspace's pipeline.json, and its record says so.
    expect(await readFile(join(doneDir, 'pipeline.json'), 'utf8')).toBe(fixedPipeline);
    expect((await readValid(LetterSchema, join(doneDir, 'tasks', 'summary', 'letter.json'))).module).toBe('summary-v2');
    const records = await readRunRecords(ws);
    expect(records.map((record) => record.id)).toEqual([id]);
    expect(records[0]!.sha256.pipeline).toBe(sha256(fixedPipeline));
  });

  it('of a completed run exits 2 and points to rerun; of an unknown run exits 3', async () => {
    const { ws, id } = await failedRun();
    await writeFile(ws.path('pipeline-tasks', 'summary.js'), FIXED_SUMMARY);
    expect((await pop(ws, ['resume', id])).exitCode).toBe(0);
    const before = await snapshotTree(join(ws.complete, id));

    const complete = await pop(ws, ['resume', id]);
    expect(complete).toMatchObject({
      exitCode: 2,
      stdout: '',
      stderr: `pop: run ${id} is already complete; to run tasks again: pop rerun ${id} --from <task>`,
    });
    expectSameTree(await snapshotTree(join(ws.complete, id)), before);

    const unknown = await pop(ws, ['resume', 'no-such-run']);
    expect(unknown).toMatchObject({ exitCode: 3, stderr: `pop: no run "no-such-run" in pipeline-current/ or pipeline-complete/; closest: ${id}` });
  });

  it('two resumes of one run at once: exactly one runs it, the other exits 4 (busy)', async () => {
    const { ws, id } = await failedRun();
    await writeFile(ws.path('pipeline-tasks', 'summary.js'), SLOW_FIXED_SUMMARY);

    const results = await Promise.all([pop(ws, ['resume', id]), pop(ws, ['resume', id])]);

    expect(results.map((result) => result.exitCode).sort(), results.map((result) => result.stderr).join('\n')).toEqual([0, 4]);
    const winner = results.find((result) => result.exitCode === 0)!;
    const loser = results.find((result) => result.exitCode === 4)!;
    expect(winner.stderr).toBe(`pop: run ${id} complete`);
    expect(loser.stderr).toContain('busy');
    expect(loser.stderr).toMatch(new RegExp(`^pop: run ${id} is busy: (pid \\d+ \\("resume"\\) is working on it|another process is working on it)$`));
    expect(eventsOf(loser.events, 'task-started')).toEqual([]);

    const status = await readStatus(join(ws.complete, id));
    expect(status.tasks.summary).toMatchObject({ state: 'complete', attempts: 2 });
    expect((await readRunRecords(ws)).map((record) => record.id)).toEqual([id]);
  });

  it('with a manager running, hands the run over ("handed run", exit 0) and the manager completes it', async () => {
    const { ws, id } = await failedRun();
    await writeFile(ws.path('pipeline-tasks', 'summary.js'), FIXED_SUMMARY);
    const daemon = await startDaemon(ws);
    // A failed run is not taken up by the manager on its own.
    expect(daemon.events.filter((line) => line.run === id)).toEqual([]);

    const result = await pop(ws, ['resume', id]);

    expect(result).toMatchObject({
      exitCode: 0,
      stdout: `handed run ${id} to the running manager (pid ${daemon.subprocess.pid}); follow it with: pop status ${id}`,
      stderr: '',
    });
    await daemon.waitForEvent('run-requested', (line) => line.run === id);
    expect(daemon.events.find((line) => line.event === 'run-requested')).toMatchObject({ run: id, pipeline: 'snapshot' });
    await daemon.waitForEvent('run-complete', (line) => line.run === id);
    const status = await waitFor(() => readStatus(join(ws.complete, id)), { description: `pipeline-complete/${id}` });
    expect(status.state).toBe('complete');
    expect(status.tasks.summary).toMatchObject({ state: 'complete', attempts: 2 });
    expect(await runDirs(ws.current)).toEqual([]);
    expect(await listDir(ws.path('pipeline-current', '.requests'))).toEqual([]);

    const stopped = await daemon.stop();
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.events.at(-1)).toMatchObject({ event: 'manager-stopped', completed: 1, failed: 0 });
    expect((await readRunRecords(ws)).map((record) => record.id)).toEqual([id]);

    const again = await pop(ws, ['resume', id]);
    expect(again.exitCode, again.stderr).toBe(2);
  });

  it('--wait with a manager running waits for the outcome: exit 1 when the run fails again', async () => {
    const { ws, id } = await failedRun();
    const daemon = await startDaemon(ws);

    const result = await pop(ws, ['resume', id, '--wait']);

    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stdout).toBe(`handed run ${id} to the running manager (pid ${daemon.subprocess.pid}); follow it with: pop status ${id}`);
    expect(result.stderr).toBe(`pop: run ${id} failed; see: pop status ${id}`);
    await daemon.waitForEvent('run-failed', (line) => line.run === id);
    const status = await readStatus(join(ws.current, id));
    expect(status.tasks.summary).toMatchObject({ state: 'failed', attempts: 2 });
    // Its exit code is not asserted: main.ts gives a stopped daemon exit 1 when any run failed
    // while it ran, which docs/cli.md's exit-code table documents only for start --once.
    const stopped = await daemon.stop();
    expect(stopped.events.at(-1)).toMatchObject({ event: 'manager-stopped', completed: 0, failed: 1 });
  });

  it('while start --once is working, resume refuses with exit 4 instead of handing it a run it would never read', async () => {
    // The gate seed's facts task waits for a file, so the --once manager is busy while we resume.
    const gatedFacts = taskSource(
      `  output: z.object({ facts: z.array(z.string()).min(1) }),
  prompt: async ({ seed }) => {
    while (seed.gate && !existsSync(seed.gate)) await sleep(20);
    return \`List facts about \${seed.topic}.\`;
  },`,
      `import { existsSync } from 'node:fs';\n${TASK_SLEEP}`,
    );
    const { ws, id } = await failedRun({ 'pipeline-tasks/facts.js': gatedFacts });
    await writeFile(ws.path('pipeline-tasks', 'summary.js'), FIXED_SUMMARY);
    const gate = ws.path('gate');
    await writeFiles(ws, { 'pipeline-pending/gated.json': { topic: 'bats', gate } });

    const once = popInBackground(ws, ['start', '--once']);
    try {
      await once.waitForEvent('task-started', (line) => line.task === 'facts');
      const resume = await pop(ws, ['resume', id]);
      expect(resume.exitCode, resume.stderr).toBe(4);
      expect(resume.stdout).toBe('');
      expect(resume.stderr).toMatch(
        new RegExp(
          `^pop: run ${id} cannot be handed over now: a \`start --once\` manager \\(pid \\d+\\) is working on this workspace; try again when it has finished$`,
        ),
      );
    } finally {
      await writeFile(gate, '');
    }
    const onceResult = await once.done();
    expect(onceResult.exitCode, onceResult.stderr).toBe(0);
    expect(await listDir(ws.path('pipeline-current', '.requests'))).toEqual([]);
    expect((await runDirs(ws.complete)).includes(id)).toBe(false);
    expect((await readStatus(join(ws.current, id))).state).toBe('failed');
  });
});

describe('rerun --from', () => {
  it('copies the run to a new id, keeps earlier tasks byte for byte without a model call, runs the task with its new code', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': PIPELINE,
      'pipeline-tasks/index.js': registryModule(['facts', 'summary']),
      'pipeline-tasks/facts.js': FACTS,
      'pipeline-tasks/summary.js': FIXED_SUMMARY,
      'pipeline-pending/owls.json': '{ "topic": "owls" }\n',
    });
    expect((await pop(ws, ['start', '--once'])).exitCode).toBe(0);
    const [id] = await runDirs(ws.complete);
    const original = join(ws.complete, id!);
    const before = await snapshotTree(original);
    const originalStatus = await readStatus(original);

    await writeFile(ws.path('pipeline-tasks', 'summary.js'), FIXED_SUMMARY.replace('Summarize these facts:', 'Condense these facts into one line:'));
    const result = await pop(ws, ['rerun', id!, '--from', 'summary']);

    expect(result.exitCode, result.stderr).toBe(0);
    const [announce] = result.stdout.split('\n');
    const match = new RegExp(`^rerun of ${id} from summary: new run (\\d{8}-\\d{6}-owls-[0-9a-z]{6})$`).exec(announce ?? '');
    expect(match, announce).not.toBeNull();
    const newId = match![1]!;
    expect(newId).not.toBe(id);
    expect(result.stderr).toBe(`pop: run ${newId} complete`);
    expect(eventsOf(result.events, 'task-started').map((line) => [line.run, line.task, line.attempt])).toEqual([[newId, 'summary', 1]]);

    expect(await runDirs(ws.complete)).toEqual([id, newId].sort());
    expect(await runDirs(ws.current)).toEqual([]);
    // The original run is untouched.
    expectSameTree(await snapshotTree(original), before);

    const copy = join(ws.complete, newId);
    // facts: the same files (no new 04-response), byte for byte.
    const factsBefore = new Map([...before].filter(([path]) => path.startsWith(join('tasks', 'facts'))));
    const factsAfter = new Map([...(await snapshotTree(copy))].filter(([path]) => path.startsWith(join('tasks', 'facts'))));
    expect([...factsBefore.keys()]).toContain(join('tasks', 'facts', '04-response.json'));
    expectSameTree(factsAfter, factsBefore);
    expect((await readFile(join(copy, 'seed.json'))).equals(before.get('seed.json')!)).toBe(true);

    const prompt = await readFile(join(copy, 'tasks', 'summary', '03-prompt.md'), 'utf8');
    expect(prompt).toContain('Condense these facts into one line:');
    expect(prompt).not.toContain('Summarize these facts:');
    expect(before.get(join('tasks', 'summary', '03-prompt.md'))!.toString('utf8')).toContain('Summarize these facts:');

    const status = await readStatus(copy);
    expect(status).toMatchObject({
      id: newId,
      state: 'complete',
      rerunOf: { run: id, from: 'summary' },
      source: { file: 'owls.json', sha256: originalStatus.source.sha256 },
    });
    expect(status.tasks.facts).toEqual({ ...originalStatus.tasks.facts, copied: true });
    expect(status.tasks.summary).toMatchObject({ state: 'complete', attempts: 1, usage: { calls: 1 } });
    expect(originalStatus.rerunOf).toBeUndefined();

    expect((await readRunRecords(ws)).map((record) => record.id)).toEqual([id, newId]);
    const shown = await pop(ws, ['status', newId]);
    expect(shown.stdout.split('\n')).toContain(`rerun of  ${id} from summary`);
  });

  it('--from a task the pipeline does not have exits 2 listing its tasks, and copies nothing', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': PIPELINE,
      'pipeline-tasks/index.js': registryModule(['facts', 'summary']),
      'pipeline-tasks/facts.js': FACTS,
      'pipeline-tasks/summary.js': FIXED_SUMMARY,
      'pipeline-pending/owls.json': { topic: 'owls' },
    });
    expect((await pop(ws, ['start', '--once'])).exitCode).toBe(0);
    const [id] = await runDirs(ws.complete);
    const before = await snapshotTree(ws.current);

    const result = await pop(ws, ['rerun', id!, '--from', 'nosuch']);

    expect(result).toMatchObject({ exitCode: 2, stdout: '', stderr: `pop: no task "nosuch" in the run's pipeline; its tasks: facts, summary` });
    expect(await runDirs(ws.complete)).toEqual([id]);
    expectSameTree(await snapshotTree(ws.current), before);
  });

  it('of a failed run from its failed task makes a new run and leaves the failed one as it was', async () => {
    const { ws, id } = await failedRun();
    const failedBefore = await snapshotTree(join(ws.current, id));

    const tooLate = await pop(ws, ['rerun', id, '--from', 'summary']);
    expect(tooLate.exitCode, tooLate.stderr).toBe(1);
    // The copy ran summary with the (still broken) code and failed; the original is untouched.
    const copies = (await runDirs(ws.current)).filter((dir) => dir !== id);
    expect(copies).toHaveLength(1);
    expect(await readStatus(join(ws.current, copies[0]!))).toMatchObject({ state: 'failed', rerunOf: { run: id, from: 'summary' } });
    expectSameTree(await snapshotTree(join(ws.current, id)), failedBefore);
  });
});
