/**
 * Hostile files in pipeline-pending/ and in POP's own folders: a seed swapped for a FIFO while it is
 * being claimed, names at the file system's length limit, deep nesting, a byte-order mark, hidden
 * names, a torn runs.jsonl. Each ends in a clear outcome with the daemon still working.
 */
import { spawn } from 'node:child_process';
import { lstat, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { SeedRejectionSchema } from '../src/formats/seed-rejection.js';
import { cannotRunHere } from './support/prerequisites.js';
import {
  GATED_TASK,
  ASK_TASK,
  listDir,
  makeWorkspace,
  pendingSeeds,
  readRunRecords,
  readValid,
  registryModule,
  runDirs,
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
    await execa(
      'mkfifo',
      Array.from({ length: FLIPS }, (_, i) => `f${i}`),
      { cwd: fifos },
    );
    const daemon = await startDaemon(ws, ['--concurrency', '1']);

    const flipper = spawn(process.execPath, ['--input-type=module', '-e', FLIPPER, ws.pending, fifos, String(FLIPS)], { stdio: 'inherit' });
    expect(await new Promise((resolve) => flipper.once('exit', resolve))).toBe(0);
    await rm(join(ws.pending, 'flip.json'), { force: true });

    await writeFile(join(ws.pending, 'later.json'), '{"q": "after the flips"}');
    await daemon.waitForEvent('seed-claimed', (line) => line.seed === 'later.json', { timeoutMs: 30_000 });
    // Whatever was seen of flip.json was claimed, rejected, or left: nothing hangs on a FIFO.
    const flips = daemon.events.filter((line) => line.seed === 'flip.json').map((line) => line.event);
    expect(flips.length, 'the flipping seed was looked at').toBeGreaterThan(0);

    await writeFile(ws.path('gate'), '');
    daemon.signal('SIGTERM');
    await waitFor(() => daemon.exited(), { timeoutMs: 30_000, description: () => `the manager to exit on SIGTERM\n${daemon.stdout().slice(-3000)}` });
    expect((await daemon.exit()).exitCode).toBe(0);
  });
});

/** The .error.json of a rejected seed, found by the seed it names, and checked against its schema. */
async function rejectionOf(ws: Workspace, seed: string) {
  for (const name of await listDir(ws.rejected)) {
    if (!name.endsWith('.error.json')) continue;
    const rejection = await readValid(SeedRejectionSchema, join(ws.rejected, name));
    if (rejection.file === `pipeline-pending/${seed}`) return { errorFile: name, rejection };
  }
  throw new Error(`no .error.json in ${ws.rejected} names ${seed}`);
}

describe('seed names at the file system limit (255 bytes)', () => {
  it('a rejected seed with a long name keeps its .error.json: shortened with a hash when <name>.error.json would not fit', async () => {
    const long235 = `${'a'.repeat(230)}.json`;
    const long255 = `${'b'.repeat(250)}.json`;
    const ws = await askWorkspace({ [`pipeline-pending/${long235}`]: 'not json', [`pipeline-pending/${long255}`]: 'not json either' });
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.events.filter((line) => line.event === 'internal-error')).toEqual([]);
    expect(result.stderr).toBe('pop: 0 run(s) complete, 0 failed, 2 seed(s) rejected');

    const short = await rejectionOf(ws, long235);
    expect(short.errorFile).toBe(`${'a'.repeat(230)}.error.json`);
    expect(short.rejection).toMatchObject({ reason: 'not-json', movedTo: `pipeline-pending/rejected/${long235}` });

    const longest = await rejectionOf(ws, long255);
    expect(Buffer.byteLength(longest.errorFile)).toBeLessThanOrEqual(255);
    expect(longest.errorFile).toMatch(/^b+~[0-9a-f]{8}\.error\.json$/);
    expect(longest.rejection).toMatchObject({ reason: 'not-json', movedTo: `pipeline-pending/rejected/${long255}` });
    expect(await readFile(join(ws.rejected, long255), 'utf8')).toBe('not json either');
  });

  it('submit takes a 240-byte name, numbers a second one within the limit, and refuses a name that cannot fit (exit 2)', async () => {
    const ws = await askWorkspace();
    const sources = ws.path('sources');
    await mkdir(sources);
    const name240 = `${'c'.repeat(235)}.json`;
    const name255 = `${'d'.repeat(250)}.json`;
    const tooLong = 'e'.repeat(252); // becomes 257 bytes with the .json submit adds
    for (const name of [name240, name255, tooLong]) await writeFile(join(sources, name), '{"q": "long"}');

    const first = await runPop(ws, ['submit', join(sources, name240), join(sources, name255), join(sources, name255)]);
    expect(first.exitCode, first.stderr).toBe(0);
    const [, , second255] = first.stdout.trim().split('\n');
    expect(first.stdout.trim().split('\n').slice(0, 2)).toEqual([name240, name255]);
    expect(second255).toMatch(/^d+~[0-9a-f]{8}\.2\.json$/);
    expect(Buffer.byteLength(second255!)).toBeLessThanOrEqual(255);
    expect((await pendingSeeds(ws)).sort()).toEqual([name240, name255, second255].sort());

    const refused = await runPop(ws, ['submit', join(sources, tooLong)]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toBe(
      `pop: ${join(sources, tooLong)}: the seed's name "${tooLong}.json" is 257 bytes; a file name may be at most 255: rename the file\n`.trimEnd(),
    );

    // And the manager runs them all.
    const run = await runPop(ws, ['start', '--once']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect((await readRunRecords(ws)).map((record) => record.seed).sort()).toEqual([name240, name255, second255].sort());
  });
});

describe('seeds the manager must not choke on', () => {
  it('a 9.9 MB seed nested millions deep is rejected as too-deep, with where, and the seed beside it runs', async () => {
    const depth = 4_900_000;
    const ws = await askWorkspace({
      'pipeline-pending/deep.json': `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      'pipeline-pending/fine.json': { q: 'shallow' },
    });
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(1);
    const { rejection } = await rejectionOf(ws, 'deep.json');
    expect(rejection).toMatchObject({
      reason: 'too-deep',
      message: 'pipeline-pending/deep.json nests arrays and objects more than 512 levels deep; a seed may nest at most 512',
      where: 'line 1, column 517',
    });
    expect((await readRunRecords(ws)).map((record) => record.seed)).toEqual(['fine.json']);
  });

  it('nesting of exactly 512 levels is a seed like any other', async () => {
    const ws = await askWorkspace({ 'pipeline-pending/nested.json': `{"q": "deep", "a":${'['.repeat(511)}${']'.repeat(511)}}` });
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect((await readRunRecords(ws)).map((record) => record.seed)).toEqual(['nested.json']);
  });

  it('a seed that starts with a UTF-8 byte-order mark runs, and its seed.json keeps the bytes as dropped', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"q": "with a BOM"}')]);
    const ws = await askWorkspace();
    await writeFile(join(ws.pending, 'bom.json'), bytes);
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(0);
    const [record] = await readRunRecords(ws);
    expect(record?.seed).toBe('bom.json');
    expect((await readFile(join(ws.complete, record!.id, 'seed.json'))).equals(bytes)).toBe(true);
    const output = JSON.parse(await readFile(join(ws.complete, record!.id, 'tasks', 'ask', 'output.json'), 'utf8')) as { value: { answer: string } };
    expect(output.value.answer.length).toBeGreaterThan(0);
  });

  it('hidden names (`..json`, `.x.json`) are never claimed: rejected as hidden-name once they settle; a hidden link is left alone', async () => {
    const ws = await askWorkspace({ 'pipeline-pending/..json': { q: 'dots' }, 'pipeline-pending/.x.json': { q: 'hidden' } });
    // What an editor leaves while a file is open: a hidden link.
    await symlink('user@host.1234', join(ws.pending, '.#y.json'));
    const daemon = await startDaemon(ws);
    await daemon.waitForEvent('seed-rejected', (line) => line.seed === '..json');
    await daemon.waitForEvent('seed-rejected', (line) => line.seed === '.x.json');
    const { rejection } = await rejectionOf(ws, '..json');
    expect(rejection).toMatchObject({
      reason: 'hidden-name',
      message: 'pipeline-pending/..json has a hidden name (it starts with "."), which is never taken as a seed; rename it without the leading dot',
    });
    expect(JSON.parse(await readFile(ws.path(rejection.movedTo), 'utf8'))).toEqual({ q: 'dots' });
    expect(daemon.events.filter((line) => line.event === 'seed-claimed')).toEqual([]);
    await daemon.stop();
    expect(await pendingSeeds(ws)).toEqual(['.#y.json']);
    expect(await listDir(ws.rejected)).toEqual(['..error.json', '..json', '.x.error.json', '.x.json']);
  });
});

describe('runs.jsonl with a torn last line (a write cut short by a crash or a full disk)', () => {
  it('is cut back to whole lines before the next run is appended, and the torn bytes are kept aside', async () => {
    const ws = await askWorkspace({ 'pipeline-pending/first.json': { q: 'one' } });
    expect((await runPop(ws, ['start', '--once'])).exitCode).toBe(0);
    const torn = '{"id":"20261126-000000-lost-abcdef","pipeline":"files","se';
    await writeFile(ws.runsJsonl, `${await readFile(ws.runsJsonl, 'utf8')}${torn}`);

    await writeFile(join(ws.pending, 'second.json'), '{"q": "two"}');
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(0);
    // Every line parses and fits the schema.
    expect((await readRunRecords(ws)).map((record) => record.seed)).toEqual(['first.json', 'second.json']);
    expect(result.events.filter((line) => line.event === 'runs-file-repaired')).toMatchObject([
      { path: ws.runsJsonl, bytes: torn.length, keptIn: `${ws.runsJsonl}.torn` },
    ]);
    expect(await readFile(`${ws.runsJsonl}.torn`, 'utf8')).toBe(`${torn}\n`);
  });
});

/** What the full-disk tests need to mount their tmpfs. */
const MOUNT_NEEDS = 'run the tests as root (or with CAP_SYS_ADMIN), as CI does, so they can mount a tmpfs';

/**
 * A real full disk under pipeline-current/.locks (a tiny tmpfs, filled): the claim succeeds (its
 * folder has room) but the run's lock cannot be written. Needs the right to mount (root).
 */
async function mountFullLocksFolder(ws: Workspace): Promise<{ free: () => Promise<void>; unmount: () => Promise<void> } | string> {
  const locks = join(ws.current, '.locks');
  await mkdir(locks, { recursive: true });
  const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', locks], { reject: false });
  if (mounted.exitCode !== 0) return `cannot mount a tmpfs (${mounted.stderr.trim() || `exit ${mounted.exitCode}`})`;
  const filler = join(locks, 'filler');
  // Fill it: write until the file system says it is full.
  const fill = await execa('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { reject: false });
  if (!/No space left on device/.test(fill.stderr)) {
    await execa('umount', [locks], { reject: false });
    return `filling the tmpfs did not end in ENOSPC: ${fill.stderr}`;
  }
  return {
    free: () => rm(filler, { force: true }),
    unmount: async () => {
      await execa('umount', ['-l', locks], { reject: false });
    },
  };
}

describe('a full disk where run locks are written', () => {
  it('keeps the claimed run queued, logs run-deferred, and runs it once space returns', async (context) => {
    const ws = await askWorkspace();
    const disk = await mountFullLocksFolder(ws);
    if (typeof disk === 'string') return cannotRunHere(context, disk, MOUNT_NEEDS);
    try {
      const daemon = await startDaemon(ws);
      await writeFile(join(ws.pending, 'waits.json'), '{"q": "after the disk is freed"}');
      const deferred = await daemon.waitForEvent('run-deferred');
      expect(deferred).toMatchObject({ level: 'warn', reason: 'lock-unavailable' });
      expect(String(deferred.message)).toContain('ENOSPC');
      expect(deferred.retryInMs).toBe(250);
      // Still deferred a second time: it is being retried, not dropped, and waits longer.
      const again = await daemon.waitForEvent('run-deferred', (line) => line !== deferred);
      expect(again.retryInMs).toBe(500);
      expect(daemon.events.filter((line) => line.event === 'run-started')).toEqual([]);

      await disk.free();
      const complete = await daemon.waitForEvent('run-complete', (line) => line.run === deferred.run);
      expect(complete.run).toBe(deferred.run);
      await daemon.stop();
      expect((await readRunRecords(ws)).map((record) => record.seed)).toEqual(['waits.json']);
    } finally {
      await disk.unmount();
    }
  });
});

describe('a full disk where run locks are written, with start --once', () => {
  it('gives up after 6 tries, leaving the run queued for the next start, which runs it', { timeout: 120_000 }, async (context) => {
    const ws = await askWorkspace({ 'pipeline-pending/waits.json': { q: 'next time' } });
    const disk = await mountFullLocksFolder(ws);
    if (typeof disk === 'string') return cannotRunHere(context, disk, MOUNT_NEEDS);
    try {
      const result = await runPop(ws, ['start', '--once']);
      expect(result.exitCode, result.stderr).toBe(0);
      const deferred = result.events.filter((line) => line.event === 'run-deferred');
      expect(deferred.map((line) => line.retryInMs)).toEqual([250, 500, 1000, 2000, 4000, 8000, null]);
      expect(await runDirs(ws.current)).toEqual([String(deferred[0]!.run)]);
      expect(await readRunRecords(ws)).toEqual([]);

      await disk.free();
      const next = await runPop(ws, ['start', '--once']);
      expect(next.exitCode, next.stderr).toBe(0);
      expect((await readRunRecords(ws)).map((record) => record.seed)).toEqual(['waits.json']);
    } finally {
      await disk.unmount();
    }
  });
});

describe('a FIFO at rest in pipeline-pending/', () => {
  it('is rejected as not-a-file without being opened, and moved aside as it is', async () => {
    const ws = await askWorkspace({ 'pipeline-pending/fine.json': { q: 'beside a pipe' } });
    await execa('mkfifo', [join(ws.pending, 'pipe.json')]);
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(1);
    const { rejection } = await rejectionOf(ws, 'pipe.json');
    expect(rejection).toMatchObject({ reason: 'not-a-file', message: 'pipeline-pending/pipe.json is a special file, not a JSON file' });
    expect((await lstat(join(ws.rejected, 'pipe.json'))).isFIFO()).toBe(true);
    expect((await readRunRecords(ws)).map((record) => record.seed)).toEqual(['fine.json']);
  });
});

describe('a FIFO dropped among the run requests (pipeline-current/.requests/)', () => {
  it('is reported as request-invalid without being opened; the manager keeps claiming and stops on SIGTERM', async () => {
    const ws = await askWorkspace();
    const daemon = await startDaemon(ws);
    await execa('mkfifo', [join(ws.current, '.requests', 'stuck.json')]);
    await daemon.waitForEvent('request-invalid', (line) => String(line.message).includes('stuck.json'));
    await writeFile(join(ws.pending, 'after.json'), '{"q": "after the pipe"}');
    await daemon.waitForEvent('run-complete');
    const stopped = await daemon.stop();
    expect(stopped.exitCode).toBe(0);
    expect((await readRunRecords(ws)).map((record) => record.seed)).toEqual(['after.json']);
  });
});
