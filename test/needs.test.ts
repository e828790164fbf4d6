/**
 * `needs` in pipeline.json: tasks of one run side by side, each in its own process; failure and
 * recovery with branches; the cap on task processes; stopping starts nothing new. Real manager
 * and task processes; the task modules record when they start and end in <workspace>/times.jsonl.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import { OutputSchema } from '../src/formats/output.js';
import { LiveProgress } from '../src/cli/live-progress.js';
import { expectSameTree, onlyCurrentRun, pop, readStatus, snapshotTree } from './support/cli.js';
import {
  killDaemonHard,
  makeWorkspace,
  readRunRecords,
  readValid,
  registryModule,
  runDirs,
  runnerChildren,
  startDaemon,
  waitFor,
  type LogEvent,
  type Workspace,
} from './support/workspace.js';

/**
 * A text task that appends `{ task, run, attempt, at, what: 'start' | 'end' }` lines to
 * times.jsonl; its value lists the inputs it was given. Options: wait for `<ws>/<gate>` before
 * answering, throw (a bug to fix on disk), or stay busy a while (so that two processes would overlap).
 */
function timedTask(options: { gate?: string; broken?: boolean; busyMs?: number } = {}): string {
  return `import { appendFileSync, existsSync } from 'node:fs';
import { defineTask } from 'pop';
const times = new URL('../times.jsonl', import.meta.url);
const mark = (ctx, what) => appendFileSync(times, JSON.stringify({ task: ctx.task, run: ctx.runId, attempt: ctx.attempt, what, at: Date.now() }) + '\\n');
export default defineTask({
  prompt: async (data, ctx) => {
    mark(ctx, 'start');
    ${
      options.gate
        ? `while (!existsSync(new URL('../${options.gate}', import.meta.url))) {
      if (ctx.signal.aborted) throw new Error('stopped before the gate opened');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }`
        : ''
    }
    ${options.busyMs ? `await new Promise((resolve) => setTimeout(resolve, ${options.busyMs}));` : ''}
    ${options.broken ? `throw new Error('task ' + ctx.task + ' is broken');` : ''}
    return 'Say something about ' + ctx.task + '.';
  },
  finalize: (text, ctx) => {
    mark(ctx, 'end');
    return { task: ctx.task, inputs: Object.keys(ctx.inputs).sort() };
  },
});
`;
}

interface TimeMark {
  task: string;
  run: string;
  attempt: number;
  what: 'start' | 'end';
  at: number;
}

async function readTimes(ws: Workspace): Promise<TimeMark[]> {
  const text = await readFile(ws.path('times.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TimeMark);
}

/** [start, end] of each task (of a run) from times.jsonl, by task name (last attempt). */
function intervals(times: TimeMark[], run?: string): Map<string, { start: number; end: number }> {
  const out = new Map<string, { start: number; end: number }>();
  for (const mark of times) {
    if (run && mark.run !== run) continue;
    const key = run ? mark.task : `${mark.run}/${mark.task}`;
    const entry = out.get(key) ?? { start: Number.NaN, end: Number.NaN };
    entry[mark.what] = mark.at;
    out.set(key, entry);
  }
  return out;
}

const started = (events: LogEvent[]) => events.filter((line) => line.event === 'task-started').map((line) => String(line.task));

/** root → (left, right → right2) → join: two branches between a root and a join. */
const BRANCHES = {
  name: 'branches',
  tasks: ['root', { name: 'left', needs: ['root'] }, { name: 'right', needs: ['root'] }, 'right2', { name: 'join', needs: ['left', 'right2'] }],
};

async function branchesWorkspace(modules: Partial<Record<string, string>> = {}, pipeline: object = BRANCHES): Promise<Workspace> {
  const names = (pipeline as { tasks: Array<string | { name: string }> }).tasks.map((entry) => (typeof entry === 'string' ? entry : entry.name));
  const files: Record<string, string | object> = { 'pipeline.json': pipeline, 'pipeline-tasks/index.js': registryModule(names) };
  for (const name of names) files[`pipeline-tasks/${name}.js`] = modules[name] ?? timedTask();
  return makeWorkspace(files);
}

describe('needs: tasks side by side', () => {
  it('two branches run at once (status lists both), and the join gets every task upstream as inputs', async () => {
    const ws = await branchesWorkspace({ left: timedTask({ gate: 'gate' }), right: timedTask({ gate: 'gate' }) });
    const daemon = await startDaemon(ws);
    await writeFile(join(ws.pending, 'seed.json'), JSON.stringify({ q: 'branches' }));
    const id = String((await daemon.waitForEvent('seed-claimed')).run);
    const runDir = join(ws.current, id);

    // Both branch tasks wait on the same gate: only tasks running side by side are both "running".
    await waitFor(async () => (await readStatus(runDir)).running.join(',') === 'left,right', { description: 'left and right running at once' });
    const status = await pop(ws, ['status', id]);
    expect(status.stdout).toContain('state     running (running left, right)');
    const overview = await pop(ws, ['status']);
    expect(overview.stdout.split('\n')[1]).toContain('left, right');
    await writeFile(ws.path('gate'), '');

    await daemon.waitForEvent('run-complete', (line) => line.run === id);
    await daemon.stop();
    const spans = intervals(await readTimes(ws), id);
    const left = spans.get('left')!;
    const right = spans.get('right')!;
    // Overlap: each started before the other ended.
    expect(left.start).toBeLessThan(right.end);
    expect(right.start).toBeLessThan(left.end);
    // The join starts after both of its branches ended; right2 after right.
    expect(spans.get('join')!.start).toBeGreaterThanOrEqual(Math.max(left.end, spans.get('right2')!.end));
    expect(spans.get('right2')!.start).toBeGreaterThanOrEqual(right.end);

    const validate = await pop(ws, ['validate']);
    expect(validate.stdout).toContain(
      'with 5 task(s): root (mock:default), left (mock:default), right (mock:default; needs root), right2 (mock:default), join (mock:default; needs left, right2);',
    );

    const join_ = await readValid(OutputSchema, join(ws.complete, id, 'tasks', 'join', 'output.json'));
    expect(join_.value).toEqual({ task: 'join', inputs: ['left', 'right', 'right2', 'root'] });
    const left_ = await readValid(OutputSchema, join(ws.complete, id, 'tasks', 'left', 'output.json'));
    expect(left_.value).toEqual({ task: 'left', inputs: ['root'] });
    const final = await readValid(RunStatusSchema, join(ws.complete, id, 'tasks-status.json'));
    expect(final).toMatchObject({ state: 'complete', running: [] });
    expect((await readRunRecords(ws)).map((record) => record.id)).toEqual([id]);
  });

  it('a failed branch lets the others finish; the run fails with every error; resume runs only what is not complete', async () => {
    const pipeline = { ...BRANCHES, tasks: [...BRANCHES.tasks, { name: 'lone', needs: [] }] };
    const ws = await branchesWorkspace({ left: timedTask({ broken: true }), lone: timedTask({ broken: true }) }, pipeline);
    await writeFile(join(ws.pending, 'seed.json'), JSON.stringify({ q: 'failing' }));
    const first = await pop(ws, ['start', '--once']);
    expect(first.exitCode, first.stderr).toBe(1);
    const id = await onlyCurrentRun(ws);
    const runDir = join(ws.current, id);
    const status = await readStatus(runDir);
    expect(status).toMatchObject({
      state: 'failed',
      running: [],
      tasks: {
        root: { state: 'complete' },
        left: { state: 'failed', error: { reason: 'task-threw', message: 'prompt threw: task left is broken' } },
        right: { state: 'complete' },
        right2: { state: 'complete' },
        join: { state: 'pending', attempts: 0 },
        lone: { state: 'failed', error: { reason: 'task-threw', message: 'prompt threw: task lone is broken' } },
      },
      error: { task: 'left', reason: 'task-threw', message: 'prompt threw: task left is broken (and 1 other task(s) failed: lone)' },
    });
    // The independent branch ran to its end although left had failed.
    expect(started(first.events).sort()).toEqual(['left', 'lone', 'right', 'right2', 'root']);
    const described = await pop(ws, ['status', id]);
    expect(described.stdout).toContain('state     failed (at left, lone)');
    expect(described.stdout).toContain('left failed (task-threw in prompt):');
    expect(described.stdout).toContain('lone failed (task-threw in prompt):');

    const untouched = await Promise.all(['root', 'right', 'right2'].map((task) => snapshotTree(join(runDir, 'tasks', task))));
    await writeFile(ws.path('pipeline-tasks', 'left.js'), timedTask());
    await writeFile(ws.path('pipeline-tasks', 'lone.js'), timedTask());
    const resumed = await pop(ws, ['resume', id]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(started(resumed.events).sort()).toEqual(['join', 'left', 'lone']);
    const done = await readValid(RunStatusSchema, join(ws.complete, id, 'tasks-status.json'));
    expect(done).toMatchObject({
      state: 'complete',
      tasks: { left: { state: 'complete', attempts: 2 }, lone: { attempts: 2 }, right: { attempts: 1 }, join: { attempts: 1 } },
    });
    const after = await Promise.all(['root', 'right', 'right2'].map((task) => snapshotTree(join(ws.complete, id, 'tasks', task))));
    for (const [index, tree] of after.entries()) expectSameTree(tree, untouched[index]!);
  });

  it('rerun --from a middle task redoes it and its downstream, copies the rest byte for byte, marked copied, with totals of its own calls', async () => {
    const ws = await branchesWorkspace();
    await writeFile(join(ws.pending, 'seed.json'), JSON.stringify({ q: 'rerun' }));
    const first = await pop(ws, ['start', '--once']);
    expect(first.exitCode, first.stderr).toBe(0);
    const [source] = await runDirs(ws.complete);
    const kept = await Promise.all(['root', 'left'].map((task) => snapshotTree(join(ws.complete, source!, 'tasks', task))));

    const rerun = await pop(ws, ['rerun', source!, '--from', 'right']);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(started(rerun.events)).toEqual(['right', 'right2', 'join']);
    const copy = (await runDirs(ws.complete)).find((name) => name !== source)!;
    const copied = await Promise.all(['root', 'left'].map((task) => snapshotTree(join(ws.complete, copy, 'tasks', task))));
    for (const [index, tree] of copied.entries()) expectSameTree(tree, kept[index]!);

    const status = await readValid(RunStatusSchema, join(ws.complete, copy, 'tasks-status.json'));
    expect(status.rerunOf).toEqual({ run: source, from: 'right' });
    expect(Object.entries(status.tasks).map(([name, task]) => [name, task.copied === true])).toEqual([
      ['root', true],
      ['left', true],
      ['right', false],
      ['right2', false],
      ['join', false],
    ]);
    const [original, again] = await readRunRecords(ws);
    expect(original!.totals.calls).toBe(5);
    expect(original!.tasks.some((task) => task.copied)).toBe(false);
    expect(again!.id).toBe(copy);
    expect(again!.tasks.filter((task) => task.copied).map((task) => task.name)).toEqual(['root', 'left']);
    const own = again!.tasks.filter((task) => !task.copied);
    expect(again!.totals).toEqual({
      calls: 3,
      inputTokens: own.reduce((sum, task) => sum + task.usage.inputTokens, 0),
      outputTokens: own.reduce((sum, task) => sum + task.usage.outputTokens, 0),
      byModel: { 'mock:default': { calls: 3, inputTokens: again!.totals.inputTokens, outputTokens: again!.totals.outputTokens } },
    });
    const described = await pop(ws, ['status', copy]);
    expect(described.stdout).toMatch(/\nroot +complete \(copied\) /);
  });

  it('--concurrency 1 across two runs: never two task processes at once', async () => {
    const pipeline = {
      name: 'wide',
      tasks: [
        { name: 'a', needs: [] },
        { name: 'b', needs: [] },
      ],
    };
    // Busy long enough that two processes started together would surely overlap.
    const ws = await branchesWorkspace({ a: timedTask({ busyMs: 300 }), b: timedTask({ busyMs: 300 }) }, pipeline);
    await writeFile(join(ws.pending, 'one.json'), JSON.stringify({ q: 'one' }));
    await writeFile(join(ws.pending, 'two.json'), JSON.stringify({ q: 'two' }));
    const result = await pop(ws, ['start', '--once', '--concurrency', '1']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await readRunRecords(ws)).toHaveLength(2);

    // From the manager's own events: a task starts only after the previous one ended.
    let open = 0;
    for (const line of result.events) {
      if (line.event === 'task-started') expect(++open, 'task processes at once').toBe(1);
      if (line.event === 'task-complete' || line.event === 'task-failed') open--;
    }
    // From the tasks' own clocks: the four intervals do not overlap.
    const spans = [...intervals(await readTimes(ws)).values()].sort((x, y) => x.start - y.start);
    expect(spans).toHaveLength(4);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
  });

  it('SIGINT while task 1 runs: task 2 never starts, and the run continues at the next start', async () => {
    const pipeline = { name: 'two-steps', tasks: ['first', 'second'] };
    const ws = await branchesWorkspace({ first: timedTask({ gate: 'gate' }) }, pipeline);
    const daemon = await startDaemon(ws);
    await writeFile(join(ws.pending, 'seed.json'), JSON.stringify({ q: 'stop' }));
    const id = String((await daemon.waitForEvent('task-started', (line) => line.task === 'first')).run);
    daemon.signal('SIGINT');
    try {
      await daemon.waitForEvent('manager-stopping');
    } finally {
      await writeFile(ws.path('gate'), '');
    }
    const stopped = await daemon.exit();
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.events).toContainEqual(expect.objectContaining({ event: 'task-complete', task: 'first' }));
    expect(started(stopped.events)).toEqual(['first']);
    expect(stopped.events).toContainEqual(expect.objectContaining({ event: 'run-interrupted', run: id, task: 'second' }));
    const status = await readStatus(join(ws.current, id));
    expect(status).toMatchObject({ state: 'queued', running: [], tasks: { first: { state: 'complete' }, second: { state: 'pending', attempts: 0 } } });

    const again = await pop(ws, ['start', '--once']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(started(again.events)).toEqual(['second']);
    expect((await readRunRecords(ws)).map((record) => record.id)).toEqual([id]);
  });

  it('a manager killed with two tasks of a run in flight: restarted, the run completes once', async () => {
    const ws = await branchesWorkspace({ left: timedTask({ gate: 'gate' }), right: timedTask({ gate: 'gate' }) });
    const daemon = await startDaemon(ws);
    await writeFile(join(ws.pending, 'seed.json'), JSON.stringify({ q: 'crash' }));
    const id = String((await daemon.waitForEvent('seed-claimed')).run);
    await waitFor(async () => (await readStatus(join(ws.current, id))).running.length === 2, { description: 'two tasks running' });
    await killDaemonHard(daemon);
    // Orphaned task processes end on their own once their manager is gone.
    await waitFor(async () => (await runnerChildren(ws)).length === 0, { description: 'the orphaned task processes to exit' });
    await writeFile(ws.path('gate'), '');

    const restarted = await pop(ws, ['start', '--once']);
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    expect(started(restarted.events).sort()).toEqual(['join', 'left', 'right', 'right2']);
    const records = await readRunRecords(ws);
    expect(records.map((record) => record.id)).toEqual([id]);
    const status = await readValid(RunStatusSchema, join(ws.complete, id, 'tasks-status.json'));
    expect(status.tasks.left).toMatchObject({ state: 'complete', attempts: 2 });
    expect(status.tasks.right).toMatchObject({ state: 'complete', attempts: 2 });
    expect(status.tasks.root).toMatchObject({ state: 'complete', attempts: 1 });
  });
});

describe('needs: a graph that cannot run', () => {
  const cyclic = {
    name: 'cyclic',
    tasks: [
      { name: 'a', needs: ['c'] },
      { name: 'b', needs: ['a'] },
      { name: 'c', needs: ['b'] },
    ],
  };
  const wrong = { name: 'wrong', tasks: ['a', { name: 'b', needs: ['a', 'nope'] }, { name: 'c', needs: ['c'] }] };

  it('start exits 2 naming the path in pipeline.json and the cycle; validate lists it', async () => {
    const ws = await branchesWorkspace({}, cyclic);
    const start = await pop(ws, ['start', '--once']);
    expect(start.exitCode).toBe(2);
    expect(start.stderr).toBe(`pop: ${ws.pipelineFile}: tasks[0].needs: the tasks' needs form a cycle: a → c → b → a`);
    const validate = await pop(ws, ['validate']);
    expect(validate.exitCode).toBe(1);
    expect(validate.stdout).toContain(`problem: ${ws.pipelineFile}: tasks[0].needs: the tasks' needs form a cycle: a → c → b → a`);
  });

  it('an unknown need and a self-need: exit 2 with each path; validate lists both', async () => {
    const ws = await branchesWorkspace({}, wrong);
    const start = await pop(ws, ['start', '--once']);
    expect(start.exitCode).toBe(2);
    const lines = start.stderr.trim().split('\n');
    expect(lines).toEqual([
      `pop: ${ws.pipelineFile}: tasks[1].needs[1]: task "b" needs "nope", which is not a task of this pipeline (tasks: a, b, c)`,
      `pop: ${ws.pipelineFile}: tasks[2].needs[0]: task "c" needs itself`,
    ]);
    const validate = await pop(ws, ['validate', '--json']);
    expect(validate.exitCode).toBe(1);
    const report = JSON.parse(validate.stdout) as { problems: string[] };
    expect(report.problems).toEqual(lines.map((line) => line.slice('pop: '.length)));
    // Nothing was run.
    expect(await runDirs(ws.current)).toEqual([]);
  });
});

describe('tasks-status.json written before running lists existed', () => {
  it('still reads: status shows the run, with nothing running', async () => {
    const ws = await branchesWorkspace();
    const id = '20261101-120000-old-abc123';
    const old = {
      id,
      pipeline: 'branches',
      state: 'failed',
      source: { file: 'old.json', sha256: 'x' },
      createdAt: '2026-11-01T12:00:00.000Z',
      updatedAt: '2026-11-01T12:00:05.000Z',
      current: 'left',
      tasks: { root: { state: 'complete', attempts: 1, refinements: 0, usage: { inputTokens: 1, outputTokens: 1, calls: 1 } } },
    };
    await mkdir(join(ws.current, id), { recursive: true });
    await writeFile(join(ws.current, id, 'tasks-status.json'), JSON.stringify(old));
    const shown = await pop(ws, ['status', id, '--json']);
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(RunStatusSchema.parse(JSON.parse(shown.stdout))).toMatchObject({ id, state: 'failed', running: [] });
    const overview = await pop(ws, ['status']);
    expect(overview.exitCode, overview.stderr).toBe(0);
    expect(overview.stdout).toContain(id);
  });
});

describe('live line', () => {
  it('shows each running task of a run and how many runs are queued', () => {
    let written = '';
    const out = { columns: 200, write: (text: string) => ((written += text), true) } as unknown as NodeJS.WriteStream;
    const live = new LiveProgress(out);
    live.onEvent({ event: 'task-started', run: 'r1', task: 'left', attempt: 1, model: 'mock:default' });
    live.onEvent({ event: 'task-started', run: 'r1', task: 'right', attempt: 1, model: 'mock:default' });
    live.onEvent({ event: 'task-stage', run: 'r1', task: 'right', stage: 'inference', call: 1 });
    live.onEvent({ event: 'runs-queued', queued: 3 });
    live.stop();
    // The last block drawn before stop: one line per running task, then the queue.
    const block = written.split('\x1b[J').at(-2) ?? '';
    const lines = block
      .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
      .split('\n')
      .filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ {2}▸ r1 · left · starting · attempt 1 · /);
    expect(lines[1]).toMatch(/^ {2}▸ r1 · right · inference · attempt 1 · /);
    expect(lines[2]).toBe('  3 run(s) queued');
  });

  it('shows a task held back by the limits of its provider until its wait is over', () => {
    let written = '';
    const out = { columns: 200, write: (text: string) => ((written += text), true) } as unknown as NodeJS.WriteStream;
    const live = new LiveProgress(out);
    live.onEvent({ event: 'task-started', run: 'r1', task: 'ask', attempt: 1, model: 'openai:gpt' });
    live.onEvent({ event: 'task-stage', run: 'r1', task: 'ask', stage: 'inference', call: 1 });
    live.onEvent({ event: 'task-waiting', run: 'r1', task: 'ask', model: 'openai:gpt', reason: 'requests-per-minute', waitMs: 30_000 });
    const waitingBlock = written.split('\x1b[J').at(-1) ?? '';
    expect(waitingBlock.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')).toMatch(
      /▸ r1 · ask · inference · model-waiting \(requests-per-minute, \d+(\.\d)? s left\) · attempt 1/,
    );
    // The next stage means the call went out: the wait is no longer shown.
    live.onEvent({ event: 'task-stage', run: 'r1', task: 'ask', stage: 'parsing', call: 1 });
    live.stop();
    const block = written.split('\x1b[J').at(-2) ?? '';
    expect(block.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')).toMatch(/▸ r1 · ask · parsing · attempt 1/);
  });
});
