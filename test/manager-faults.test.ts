/**
 * The manager's last lines of defence: a bug of its own while a task runs fails that run and keeps
 * the daemon up, and a task that brings the manager down at every start is not started for ever.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import { execa } from 'execa';
import { CLI, makeWorkspace, readRunRecords, readValid, runDirs, runPop, type PopResult, type Workspace } from './support/workspace.js';

const TEXT_TASK = `export default { prompt: ({ seed }) => 'Write a line about ' + String(seed.topic) };\n`;

// Kills its manager outright, every time it runs.
const MANAGER_KILLER = `export default {
  prompt: async () => {
    process.kill(process.ppid, 'SIGKILL');
    await new Promise(() => setInterval(() => {}, 1000));
  },
};
`;

function workspace(module: string, seeds: Record<string, object>): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': { name: 'faults', tasks: ['only'] },
    'pipeline-tasks/index.js': `import only from './only.js';\nexport default { only };\n`,
    'pipeline-tasks/only.js': module,
    ...Object.fromEntries(Object.entries(seeds).map(([name, seed]) => [`pipeline-pending/${name}`, seed])),
  });
}

async function startOnce(ws: Workspace, env: Record<string, string> = {}): Promise<PopResult & { stdout: string }> {
  const result = await execa(process.execPath, [CLI, 'start', '--once', '--json', '--concurrency', '1', '--root', ws.root], {
    cwd: ws.root,
    reject: false,
    env,
    timeout: 50_000,
  });
  const events = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { event: string; [key: string]: unknown });
  return { exitCode: result.exitCode, signal: result.signal, stdout: result.stdout, stderr: result.stderr, events };
}

describe('the manager survives its own faults', () => {
  it('an uncaught error in the manager while a task runs fails that run, logs the bug, and the daemon goes on', async () => {
    const ws = await workspace(TEXT_TASK, { 'first.json': { topic: 'faults' } });
    const result = await startOnce(ws, { POP_FAULT_AT: 'task-running' });
    expect(result.signal, result.stderr).toBeUndefined();
    expect(result.exitCode, result.stderr).toBe(1);
    const [run] = await runDirs(ws.current);
    const status = await readValid(RunStatusSchema, join(ws.current, run as string, 'tasks-status.json'));
    expect(status).toMatchObject({ state: 'failed', tasks: { only: { state: 'failed', error: { reason: 'internal-error' } } } });
    expect(status.tasks.only?.error?.message).toContain('injected fault at task-running');
    const bug = result.events.find((line) => line.event === 'internal-error');
    expect(bug).toMatchObject({ run, message: expect.stringContaining('injected fault at task-running') });

    // The same manager code without the fault runs the next seed: nothing was left broken.
    await writeFile(join(ws.pending, 'second.json'), JSON.stringify({ topic: 'recovery' }));
    const next = await runPop(ws, ['start', '--once']);
    expect(next.exitCode, next.stderr).toBe(0);
    expect((await readRunRecords(ws)).map((record) => record.seed)).toEqual(['second.json']);
  });

  it('a task that kills its manager at every start is failed after five attempts, not started for ever', async () => {
    const ws = await workspace(MANAGER_KILLER, { 'killer.json': { topic: 'loops' } });
    const deaths: PopResult[] = [];
    let last: PopResult | undefined;
    for (let start = 1; start <= 8; start++) {
      last = await startOnce(ws);
      if (last.signal !== 'SIGKILL') break;
      deaths.push(last);
    }
    expect(deaths).toHaveLength(5);
    expect(last?.exitCode, last?.stderr).toBe(1);
    const [run] = await runDirs(ws.current);
    const status = await readValid(RunStatusSchema, join(ws.current, run as string, 'tasks-status.json'));
    expect(status).toMatchObject({ state: 'failed', tasks: { only: { state: 'failed', attempts: 5, error: { reason: 'manager-crashed' } } } });
    expect(status.tasks.only?.error?.message).toContain('5 attempts');
    expect(last?.events).toContainEqual(expect.objectContaining({ event: 'run-failed', run, reason: 'manager-crashed' }));

    // Fixed on disk, `resume` starts it again: the count starts over.
    await writeFile(ws.path('pipeline-tasks', 'only.js'), TEXT_TASK);
    const resumed = await runPop(ws, ['resume', run as string]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const records = await readRunRecords(ws);
    expect(records.map((record) => record.id)).toEqual([run]);
    expect(records[0]?.tasks).toEqual([expect.objectContaining({ name: 'only', attempts: 6 })]);
  });
});

// Puts a file where the next task's folder goes: the manager cannot prepare that task.
const SABOTEUR = `import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  prompt: (_, ctx) => {
    writeFileSync(join('pipeline-current', ctx.runId, 'tasks', 'second'), 'not a folder');
    return 'Write a line about folders';
  },
};
`;

describe('an unexpected error while the manager runs a run', () => {
  it('fails that run on disk with the error: it never stays running', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': {
        name: 'faults',
        tasks: [
          { name: 'first', task: 'saboteur' },
          { name: 'second', task: 'only' },
        ],
      },
      'pipeline-tasks/index.js': `import saboteur from './saboteur.js';\nimport only from './only.js';\nexport default { saboteur, only };\n`,
      'pipeline-tasks/saboteur.js': SABOTEUR,
      'pipeline-tasks/only.js': TEXT_TASK,
      'pipeline-pending/a.json': { topic: 'folders' },
    });
    const result = await startOnce(ws);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.events.filter((line) => line.event === 'internal-error')).toHaveLength(1);
    const [run] = await runDirs(ws.current);
    const status = await readValid(RunStatusSchema, join(ws.current, String(run), 'tasks-status.json'));
    expect(status.state).toBe('failed');
    expect(status.running).toEqual([]);
    expect(status.error).toMatchObject({
      reason: 'internal-error',
      message: expect.stringMatching(/unexpected error while running this run: .*tasks\/second/),
    });
    expect(status.tasks.first?.state).toBe('complete');

    // `status` says so too.
    const shown = await runPop(ws, ['status', String(run)]);
    expect(shown.stdout).toMatch(/failed/);
    expect(shown.stdout).not.toMatch(/running/);
  });
});
