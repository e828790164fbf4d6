import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeedRejectionSchema } from '../src/formats/seed-rejection.js';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import {
  ASK_TASK,
  listDir,
  makeWorkspace,
  pendingSeeds,
  readRunRecords,
  readValid,
  registryModule,
  runDirs,
  startDaemon,
  waitFor,
  type Workspace,
} from './support/workspace.js';

function askWorkspace(): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': { name: 'seeds', tasks: ['ask'] },
    'pipeline-tasks/index.js': registryModule(['ask']),
    'pipeline-tasks/ask.js': ASK_TASK,
  });
}

const BAD_SEEDS = [
  { name: 'broken', content: '{ not json', reason: 'not-json', says: 'is not valid JSON' },
  // V8's message for this one quotes the text instead of giving a position.
  { name: 'typo', content: '{\n  "q": tru\n}', reason: 'not-json', says: 'is not valid JSON' },
  { name: 'array', content: '[1,2]', reason: 'not-an-object', says: 'is an array; a seed must be a JSON object' },
  { name: 'empty', content: '', reason: 'empty', says: 'is empty' },
] as const;

describe('bad seeds dropped into a running daemon', () => {
  it('are moved to pipeline-pending/rejected/ with an .error.json, and the daemon keeps running', async () => {
    const ws = await askWorkspace();
    const daemon = await startDaemon(ws);

    for (const seed of BAD_SEEDS) await writeFile(join(ws.pending, `${seed.name}.json`), seed.content);

    for (const seed of BAD_SEEDS) {
      const file = `${seed.name}.json`;
      const event = await daemon.waitForEvent('seed-rejected', (line) => line.seed === file);
      expect(event).toMatchObject({ level: 'warn', reason: seed.reason, movedTo: `pipeline-pending/rejected/${file}` });

      const errorFile = join(ws.rejected, `${seed.name}.error.json`);
      const rejection = await waitFor(() => readValid(SeedRejectionSchema, errorFile), { description: errorFile });
      expect(rejection).toMatchObject({
        file: `pipeline-pending/${file}`,
        movedTo: `pipeline-pending/rejected/${file}`,
        reason: seed.reason,
      });
      expect(rejection.message).toContain(`pipeline-pending/${file} ${seed.says}`);
      expect(event.message).toBe(rejection.message);
      // The seed itself, byte for byte.
      expect((await readFile(join(ws.rejected, file))).equals(Buffer.from(seed.content))).toBe(true);
    }
    const broken = await readValid(SeedRejectionSchema, join(ws.rejected, 'broken.error.json'));
    expect(broken.where).toBe('line 1, column 3');
    expect((await readValid(SeedRejectionSchema, join(ws.rejected, 'typo.error.json'))).where).toBe('line 2, column 8');

    expect(await listDir(ws.rejected)).toEqual([
      'array.error.json',
      'array.json',
      'broken.error.json',
      'broken.json',
      'empty.error.json',
      'empty.json',
      'typo.error.json',
      'typo.json',
    ]);
    expect(await pendingSeeds(ws)).toEqual([]);
    expect(await runDirs(ws.current)).toEqual([]);
    expect(daemon.events.filter((line) => line.event === 'seed-claimed')).toEqual([]);

    // Still running, and still taking seeds.
    expect(daemon.exited()).toBe(false);
    await writeFile(join(ws.pending, 'good.json'), JSON.stringify({ q: 'Is the daemon still alive?' }));
    const claimed = await daemon.waitForEvent('seed-claimed', (line) => line.seed === 'good.json');
    await daemon.waitForEvent('run-complete', (line) => line.run === claimed.run);
    const status = await readValid(RunStatusSchema, join(ws.complete, String(claimed.run), 'tasks-status.json'));
    expect(status).toMatchObject({ state: 'complete', source: { file: 'good.json' } });
    expect((await readRunRecords(ws)).map((record) => record.seed)).toEqual(['good.json']);

    const stopped = await daemon.stop();
    expect(stopped.exitCode).toBe(0);
    expect(stopped.events.at(-1)).toMatchObject({ event: 'manager-stopped', completed: 1, failed: 0, rejected: 4 });
  });

  it('a half-written seed is waited for, not rejected, and runs once it is finished', async () => {
    const ws = await askWorkspace();
    const daemon = await startDaemon(ws);
    const file = join(ws.pending, 'half.json');

    await writeFile(file, '{"q": "par');
    const waiting = await daemon.waitForEvent('seed-waiting', (line) => line.seed === 'half.json');
    expect(String(waiting.message)).toContain('waiting for it to be finished');
    await appendFile(file, 'tial"}');

    const claimed = await daemon.waitForEvent('seed-claimed', (line) => line.seed === 'half.json');
    const runId = String(claimed.run);
    await daemon.waitForEvent('run-complete', (line) => line.run === runId);

    const runDir = join(ws.complete, runId);
    expect(await readFile(join(runDir, 'seed.json'), 'utf8')).toBe('{"q": "partial"}');
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status).toMatchObject({ state: 'complete', source: { file: 'half.json' } });
    expect((await readRunRecords(ws)).map((record) => record.id)).toEqual([runId]);

    expect(daemon.events.filter((line) => line.event === 'seed-rejected')).toEqual([]);
    expect(await listDir(ws.rejected)).toEqual([]);
    expect(await pendingSeeds(ws)).toEqual([]);

    const stopped = await daemon.stop();
    expect(stopped.exitCode).toBe(0);
    expect(stopped.events.at(-1)).toMatchObject({ event: 'manager-stopped', completed: 1, failed: 0, rejected: 0 });
  });
});
