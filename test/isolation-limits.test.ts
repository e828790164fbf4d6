/**
 * The limits a task process runs under: its time limit ends whatever it started, its heap limit
 * ends it with out-of-memory, a kill from outside is retried, and --concurrency bounds how many
 * runs go at once, taken in the order the seeds arrived.
 */
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import {
  isProcessRunning,
  makeWorkspace,
  pendingSeeds,
  readRunRecords,
  readValid,
  runDirs,
  runPop,
  startDaemon,
  waitFor,
  type LogEvent,
  type Workspace,
} from './support/workspace.js';

function oneTaskWorkspace(task: object, module: string, files: Record<string, string | object> = {}): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': { name: 'limits', tasks: [task] },
    'pipeline-tasks/index.js': `import task from './task.js';\nexport default { ${JSON.stringify((task as { name: string }).name)}: task };\n`,
    'pipeline-tasks/task.js': module,
    ...files,
  });
}

const eventsNamed = (events: LogEvent[], name: string) => events.filter((line) => line.event === name);

// Starts `sleep 300` (in the task's process group, as any child it spawns), records its pid, hangs.
const SPAWNER_TASK = `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
export default {
  prompt: () => {
    const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    writeFileSync(new URL('../sleep.pid', import.meta.url), String(sleeper.pid));
    return new Promise(() => setInterval(() => {}, 1000));
  },
};
`;

// Keeps everything it allocates.
const HOG_TASK = `export default {
  prompt: () => {
    const hoard = [];
    for (;;) hoard.push(Array.from({ length: 1000 }, (_, i) => ({ i, at: hoard.length })));
  },
};
`;

// Attempt 1 records its pid and waits to be killed; later attempts go straight through.
const KILLABLE_TASK = `import { writeFileSync } from 'node:fs';
export default {
  prompt: async ({ seed }, ctx) => {
    writeFileSync(new URL('../attempt-' + ctx.attempt + '.pid', import.meta.url), String(process.pid));
    if (ctx.attempt === 1) await new Promise(() => setInterval(() => {}, 1000));
    return 'Write a sentence about ' + String(seed.topic) + '.';
  },
};
`;

describe('a task process under its limits', () => {
  it('past timeoutMs the run fails with timeout, and the subprocess the task started is gone too', async () => {
    const ws = await oneTaskWorkspace({ name: 'spawner', timeoutMs: 3000 }, SPAWNER_TASK);
    const daemon = await startDaemon(ws);
    await writeFile(join(ws.pending, 'sleepy.json'), '{ "topic": "sleep" }');

    const sleepPid = await waitFor(async () => Number(await readFile(ws.path('sleep.pid'), 'utf8')) || undefined, { description: 'sleep.pid' });
    expect(isProcessRunning(sleepPid)).toBe(true);
    const failed = await daemon.waitForEvent('run-failed');
    const run = String(failed.run);
    expect(failed).toMatchObject({ task: 'spawner', reason: 'timeout', message: 'the task ran past its time limit of 3000 ms and was stopped' });

    await waitFor(() => !isProcessRunning(sleepPid), { description: `the task's sleep process (pid ${sleepPid}) to be gone` });
    const status = await readValid(RunStatusSchema, join(ws.current, run, 'tasks-status.json'));
    expect(status).toMatchObject({
      state: 'failed',
      running: [],
      tasks: {
        spawner: { state: 'failed', attempts: 1, error: { reason: 'timeout', message: 'the task ran past its time limit of 3000 ms and was stopped' } },
      },
      error: { task: 'spawner', reason: 'timeout' },
    });
    // Not retried: a time limit is the task's own fault.
    expect(eventsNamed(daemon.events, 'task-retrying')).toEqual([]);
    expect(daemon.exited()).toBe(false);
  });

  it('past memoryMb the run fails with out-of-memory', async () => {
    const ws = await oneTaskWorkspace({ name: 'hog', memoryMb: 64 }, HOG_TASK, { 'pipeline-pending/greedy.json': '{ "topic": "memory" }' });
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(1);
    const [run] = await runDirs(ws.current);
    const status = await readValid(RunStatusSchema, join(ws.current, run as string, 'tasks-status.json'));
    const error = status.tasks.hog?.error;
    expect(error).toMatchObject({ reason: 'out-of-memory', message: 'the task ran out of memory (heap limit 64 MB)' });
    expect(error?.stderrTail).toMatch(/JavaScript heap out of memory/);
    expect(status).toMatchObject({
      state: 'failed',
      running: [],
      tasks: { hog: { state: 'failed', attempts: 1 } },
      error: { task: 'hog', reason: 'out-of-memory' },
    });
    expect(eventsNamed(result.events, 'run-failed')).toEqual([expect.objectContaining({ run, task: 'hog', reason: 'out-of-memory' })]);
    expect(await readRunRecords(ws)).toEqual([]);
  });

  it('a task process killed from outside with SIGKILL is retried, and the run completes with attempts 2', async () => {
    const ws = await oneTaskWorkspace({ name: 'hold' }, KILLABLE_TASK);
    const daemon = await startDaemon(ws);
    await writeFile(join(ws.pending, 'victim.json'), '{ "topic": "survival" }');

    const firstPid = await waitFor(async () => Number(await readFile(ws.path('attempt-1.pid'), 'utf8')) || undefined, { description: 'attempt-1.pid' });
    process.kill(firstPid, 'SIGKILL');
    const retrying = await daemon.waitForEvent('task-retrying');
    expect(retrying).toMatchObject({ level: 'warn', task: 'hold', attempt: 1, reason: 'killed', message: 'the task process was killed by SIGKILL' });
    const run = String(retrying.run);
    await daemon.waitForEvent('run-complete', (line) => line.run === run);

    const secondPid = Number(await readFile(ws.path('attempt-2.pid'), 'utf8'));
    expect(secondPid).not.toBe(firstPid);
    expect(eventsNamed(daemon.events, 'task-started').map((line) => line.attempt)).toEqual([1, 2]);
    const status = await readValid(RunStatusSchema, join(ws.complete, run, 'tasks-status.json'));
    expect(status).toMatchObject({ state: 'complete', tasks: { hold: { state: 'complete', attempts: 2 } } });
    expect(status.tasks.hold?.error).toBeUndefined();
    expect((await readRunRecords(ws)).map((record) => [record.id, record.tasks.map((task) => task.attempts)])).toEqual([[run, [2]]]);
  });
});

// Appends "start <seed>" and "end <seed>" lines, with the time, to one shared log (appends of one
// short line are atomic, so the line order is the order things happened). With seed.barrier = N it
// waits, after starting, until N runs have started: a run can only get past it with company.
const TIMED_TASK = `import { appendFileSync, readFileSync } from 'node:fs';
const log = new URL('../timeline.log', import.meta.url);
const starts = () => { try { return readFileSync(log, 'utf8').split('\\n').filter((line) => line.startsWith('start ')).length; } catch { return 0; } };
export default {
  prompt: async ({ seed }) => {
    appendFileSync(log, 'start ' + seed.name + ' ' + Date.now() + '\\n');
    while (starts() < (seed.barrier ?? 0)) await new Promise((resolve) => setTimeout(resolve, 20));
    return 'Write a sentence about ' + seed.name + '.';
  },
  finalize: (value, ctx) => {
    appendFileSync(log, 'end ' + ctx.seed.name + ' ' + Date.now() + '\\n');
    return value;
  },
};
`;

/** Four seeds whose names sort the other way from their arrival (mtime) order: d first, a last. */
const ARRIVAL = ['d', 'c', 'b', 'a'];

async function timedWorkspace(barrier: number): Promise<Workspace> {
  // A deadlocked barrier fails its run after 20 s instead of hanging the test.
  const ws = await oneTaskWorkspace({ name: 'timed', timeoutMs: 20_000 }, TIMED_TASK);
  const base = Math.floor(Date.now() / 1000) - 100;
  for (const [index, name] of ARRIVAL.entries()) {
    const file = join(ws.pending, `${name}.json`);
    await writeFile(file, JSON.stringify({ name, barrier }));
    await utimes(file, base + index * 10, base + index * 10);
  }
  return ws;
}

interface Mark {
  what: 'start' | 'end';
  seed: string;
  at: number;
}

async function timeline(ws: Workspace): Promise<Mark[]> {
  const text = await readFile(ws.path('timeline.log'), 'utf8');
  return text
    .trimEnd()
    .split('\n')
    .map((line) => {
      const [what, seed, at] = line.split(' ');
      return { what: what as Mark['what'], seed: String(seed), at: Number(at) };
    });
}

/** The most runs in progress at once, from the order of the marks. */
function maxOverlap(marks: Mark[]): number {
  let running = 0;
  let most = 0;
  for (const mark of marks) {
    running += mark.what === 'start' ? 1 : -1;
    most = Math.max(most, running);
  }
  return most;
}

/** Seeds in the order their runs started, from the manager's own events. */
function runStartOrder(events: LogEvent[]): string[] {
  const seedOf = new Map(eventsNamed(events, 'seed-claimed').map((line) => [String(line.run), String(line.seed)]));
  return eventsNamed(events, 'run-started').map((line) => seedOf.get(String(line.run)) ?? `unknown run ${String(line.run)}`);
}

describe('--concurrency', () => {
  it('1: runs never overlap, and seeds are taken in arrival order', async () => {
    const ws = await timedWorkspace(0);
    const result = await runPop(ws, ['start', '--once', '--concurrency', '1']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.events[0]).toMatchObject({ event: 'manager-started', concurrency: 1 });
    expect(runStartOrder(result.events)).toEqual(ARRIVAL.map((name) => `${name}.json`));

    const marks = await timeline(ws);
    expect(marks.map((mark) => `${mark.what} ${mark.seed}`)).toEqual(ARRIVAL.flatMap((name) => [`start ${name}`, `end ${name}`]));
    expect(maxOverlap(marks)).toBe(1);
    // The recorded intervals, one after the other: each run ended before the next started.
    for (let i = 1; i < marks.length; i++) expect(marks[i]!.at).toBeGreaterThanOrEqual(marks[i - 1]!.at);
    expect((await readRunRecords(ws)).map((record) => record.seed)).toEqual(ARRIVAL.map((name) => `${name}.json`));
    expect(await pendingSeeds(ws)).toEqual([]);
  });

  it('default (2): two runs go at once, never more, the two oldest seeds first', async () => {
    const ws = await timedWorkspace(2);
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.events[0]).toMatchObject({ event: 'manager-started', concurrency: 2 });
    expect(runStartOrder(result.events).slice(0, 2).sort()).toEqual(['c.json', 'd.json']);

    const marks = await timeline(ws);
    expect(marks).toHaveLength(8);
    expect(maxOverlap(marks)).toBe(2);
    expect(
      marks
        .slice(0, 2)
        .map((mark) => `${mark.what} ${mark.seed}`)
        .sort(),
    ).toEqual(['start c', 'start d']);
    expect((await readRunRecords(ws)).map((record) => record.seed).sort()).toEqual(['a.json', 'b.json', 'c.json', 'd.json']);
    expect(await runDirs(ws.complete)).toHaveLength(4);
  });
});
