/**
 * Documents a product bug (see the report): the README promises that SIGTERM/SIGINT "stops
 * claiming, lets running tasks finish for up to 10 s". But manager.ts registers its handlers with
 * process.once(); while a task process runs, execa's cleanup has signal-exit listening for the same
 * signals, and signal-exit re-raises a signal when it finds itself the only listener left, which it
 * does because the once() wrapper has already removed itself. The manager dies by SIGTERM at once,
 * and the run is left "running".
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
