/**
 * Hostile files in pipeline-pending/ and in POP's own folders: a seed swapped for a FIFO while it is
 * being claimed, names at the file system's length limit, deep nesting, a byte-order mark, hidden
 * names, a torn runs.jsonl. Each ends in a clear outcome with the daemon still working.
 */
import { spawn } from 'node:child_process';
import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { SeedRejectionSchema } from '../src/formats/seed-rejection.js';
import {
  GATED_TASK,
  ASK_TASK,
  listDir,
  makeWorkspace,
  pendingSeeds,
  readRunRecords,
  readValid,
  registryModule,
  runPop,
  startDaemon,
  waitFor,
  type Workspace,
} from './support/workspace.js';

function askWorkspace(files: Record<string, string | object> = {}, task = ASK_TASK): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': { name: 'files', tasks: ['ask'] },
    'pipeline-tasks/index.js': registryModule(['ask']),
    'pipeline-tasks/ask.js': task,
    ...files,
  });
}

/**
 * Puts a seed and a FIFO in turn under one name in pipeline-pending/, `flips` times, with random
 * sub-millisecond gaps: sooner or later the manager looks at a file and then opens a FIFO, or
 * claims the file and then finds a FIFO where it removes it.
 */
const FLIPPER = `
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const [pending, fifos, flips] = process.argv.slice(1);
const target = join(pending, 'flip.json');
const spin = (ms) => { const end = performance.now() + ms; while (performance.now() < end); };
for (let i = 0; i < Number(flips); i++) {
  const temp = join(pending, '.flip-' + i + '.tmp');
  writeFileSync(temp, '{"q": "flip ' + i + '"}');
  renameSync(temp, target);
  spin(Math.random() * 1.5);
  renameSync(join(fifos, 'f' + i), target);
  spin(Math.random() * 1.5);
}
`;

describe('a seed swapped for a FIFO while it is being claimed', () => {
  it('never hangs intake: later seeds are claimed, and SIGTERM stops the manager', { timeout: 180_000 }, async () => {
    const FLIPS = 1500;
    const ws = await askWorkspace({}, GATED_TASK);
    const fifos = ws.path('fifos');
    await mkdir(fifos);
    await execa('mkfifo', Array.from({ length: FLIPS }, (_, i) => `f${i}`), { cwd: fifos });
    const daemon = await startDaemon(ws, ['--concurrency', '1']);

    const flipper = spawn(process.execPath, ['--input-type=module', '-e', FLIPPER, ws.pending, fifos, String(FLIPS)], { stdio: 'inherit' });
    expect(await new Promise((resolve) => flipper.once('exit', resolve))).toBe(0);
    await rm(join(ws.pending, 'flip.json'), { force: true });

    await writeFile(join(ws.pending, 'later.json'), '{"q": "after the flips"}');
    await daemon.waitForEvent('seed-claimed', (line) => line.seed === 'later.json', { timeoutMs: 30_000 });
    // Whatever was seen of flip.json was claimed, rejected, or left: nothing hangs on a FIFO.
    const flips = daemon.events.filter((line) => line.seed === 'flip.json').map((line) => line.event);
    expect(flips.length, "the flipping seed was looked at").toBeGreaterThan(0);

    await writeFile(ws.path('gate'), '');
    daemon.signal('SIGTERM');
    await waitFor(() => daemon.exited(), { timeoutMs: 30_000, description: () => `the manager to exit on SIGTERM\n${daemon.stdout().slice(-3000)}` });
    expect((await daemon.exit()).exitCode).toBe(0);
  });
});
