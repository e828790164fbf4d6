/**
 * Stopping the daemon: SIGTERM/SIGINT lets running tasks finish (within a grace period); a second
 * signal stops them at once, and their runs continue at the next start.
 */ import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatEvent } from '../src/cli/human-log.js';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import { GATED_TASK, makeWorkspace, readRunRecords, readValid, registryModule, runDirs, startDaemon } from './support/workspace.js';

describe('stopping the daemon while a task runs', () => {
  it('SIGTERM lets the running task finish, then the daemon exits 0', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'shutdown', tasks: ['slow'] },
      'pipeline-tasks/index.js': registryModule(['slow']),
      'pipeline-tasks/slow.js': GATED_TASK,
    });
    const daemon = await startDaemon(ws);
    await writeFile(join(ws.pending, 'late.json'), JSON.stringify({ q: 'Will I be allowed to finish?' }));
    const started = await daemon.waitForEvent('task-started', (line) => line.task === 'slow');
    const runId = String(started.run);

    daemon.signal('SIGTERM');
    try {
      await daemon.waitForEvent('manager-stopping');
    } finally {
      // The task may finish now; the manager should be waiting for it.
      await writeFile(ws.path('gate'), '');
    }
    const result = await daemon.exit();

    expect({ exitCode: result.exitCode, signal: result.signal }, result.stderr).toEqual({ exitCode: 0, signal: undefined });
    expect(result.events).toContainEqual(expect.objectContaining({ event: 'run-complete', run: runId }));
    expect(result.events.at(-1)).toMatchObject({ event: 'manager-stopped', completed: 1, failed: 0 });
    const status = await readValid(RunStatusSchema, join(ws.complete, runId, 'tasks-status.json'));
    expect(status.state).toBe('complete');
    expect((await readRunRecords(ws)).map((record) => record.id)).toEqual([runId]);
    expect(await runDirs(ws.current)).toEqual([]);
  });

  it('a second SIGINT stops the running task now: the run is recorded interrupted and runs to the end at the next start', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'shutdown', tasks: ['slow'] },
      'pipeline-tasks/index.js': registryModule(['slow']),
      'pipeline-tasks/slow.js': GATED_TASK,
    });
    const daemon = await startDaemon(ws);
    await writeFile(join(ws.pending, 'stuck.json'), JSON.stringify({ q: 'Will I be stopped?' }));
    const started = await daemon.waitForEvent('task-started', (line) => line.task === 'slow');
    const runId = String(started.run);

    daemon.signal('SIGINT');
    const stopping = await daemon.waitForEvent('manager-stopping');
    expect(stopping).toMatchObject({ signal: 'SIGINT', running: 1, graceMs: 10_000 });
    // What a terminal shows for it: how long the wait is, and that a second Ctrl-C ends it.
    expect(formatEvent(stopping, false)).toMatch(
      /stopping \(SIGINT\); no new task starts; waiting up to 10\.0 s for 1 running task\(s\); Ctrl-C again stops them now$/,
    );
    // The gate stays shut: only the second signal can end the task.
    daemon.signal('SIGINT');
    const result = await daemon.exit();

    expect({ exitCode: result.exitCode, signal: result.signal }, result.stderr).toEqual({ exitCode: 0, signal: undefined });
    const forcing = result.events.find((line) => line.event === 'manager-forcing');
    expect(forcing).toMatchObject({ signal: 'SIGINT', running: 1, level: 'warn' });
    expect(formatEvent(forcing!, false)).toMatch(
      /stopping now \(a second SIGINT\): 1 running task\(s\) are stopped and their runs continue on the next start$/,
    );
    expect(result.events).toContainEqual(expect.objectContaining({ event: 'run-interrupted', run: runId, task: 'slow' }));
    expect(result.events.filter((line) => line.event === 'run-complete')).toEqual([]);
    const status = await readValid(RunStatusSchema, join(ws.current, runId, 'tasks-status.json'));
    expect(status.state).toBe('queued');
    expect(status.tasks.slow?.state).toBe('pending');

    await writeFile(ws.path('gate'), '');
    const next = await startDaemon(ws);
    await next.waitForEvent('run-complete', (line) => line.run === runId);
    await next.stop();
    expect((await readRunRecords(ws)).map((record) => record.id)).toEqual([runId]);
  });
});
