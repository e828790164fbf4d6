/**
 * What survives a power cut is decided by the order of fsync and rename, which no crash of the
 * process can show: the system calls of a real `start --once` are traced with strace and their
 * order checked for a claim, an atomic write and a promotion.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ASK_TASK, CLI, makeTempDir, makeWorkspace, readRunRecords, registryModule } from './support/workspace.js';

const STRACE = '/usr/bin/strace';
const hasStrace = existsSync(STRACE);

interface Call {
  name: string;
  /** The paths it names: an fd's path (strace -y) or the path arguments. */
  paths: string[];
}

/** `[pid 12] fsync(23</a/b>) = 0`, `fsync(23</a/b> <unfinished ...>`, `rename("/a/.x.tmp", "/a/x") = 0`, `renameat2(AT_FDCWD, "/a", AT_FDCWD, "/b", 0) = 0`… */
function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  for (const line of text.split('\n')) {
    // A call another thread interrupts is split: its start ends in "<unfinished ...>" (its result follows later).
    const match = /(?:^|\s)(fsync|fdatasync|rename|renameat2?|unlink|unlinkat)\((.*?)(?:\)\s+=\s+0| <unfinished \.\.\.>$)/.exec(line);
    if (!match) continue;
    const args = match[2]!;
    const paths = [...args.matchAll(/<([^>]*)>|"((?:[^"\\]|\\.)*)"/g)].map((found) => found[1] ?? found[2]!);
    calls.push({ name: match[1]!.replace(/at2?$/, '').replace('fdatasync', 'fsync'), paths });
  }
  return calls;
}

/** The index of the first call (from `from`) that matches. */
function indexOf(calls: Call[], name: string, test: (paths: string[]) => boolean, from = 0): number {
  for (let i = from; i < calls.length; i++) if (calls[i]!.name === name && test(calls[i]!.paths)) return i;
  return -1;
}

describe.skipIf(!hasStrace && process.env.CI !== 'true')('the order of fsync and rename (needs strace: apt-get install -y strace)', () => {
  it('claim, atomic write and promotion: files, then their folder, are on disk before the rename or unlink that commits them', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'durable', tasks: ['ask'] },
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': ASK_TASK,
      'pipeline-pending/drop.json': { q: 'question' },
    });
    const traceFile = join(await makeTempDir('pop-strace-'), 'trace');
    const traced = await execa(
      STRACE,
      [
        '-f',
        '-y',
        '-qq',
        '-o',
        traceFile,
        '-e',
        'trace=fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat',
        process.execPath,
        CLI,
        'start',
        '--once',
        '--json',
        '--root',
        ws.root,
      ],
      { cwd: ws.root, reject: false, stdin: 'ignore' },
    );
    expect(traced.exitCode, traced.stderr).toBe(0);
    const [record] = await readRunRecords(ws);
    const id = record!.id;
    const calls = parseTrace(await readFile(traceFile, 'utf8'));
    const current = join(ws.root, 'pipeline-current');
    const complete = join(ws.root, 'pipeline-complete');
    const claim = (path: string) => path.startsWith(join(current, `.claim-${id}`));

    // Claim: seed.json and pipeline.json, the claim folder, the rename into place, pipeline-current/, and only then the pending seed's unlink.
    const seed = indexOf(calls, 'fsync', ([path]) => claim(path!) && path!.endsWith('/seed.json'));
    const pipeline = indexOf(calls, 'fsync', ([path]) => claim(path!) && path!.endsWith('/pipeline.json'));
    const claimFolder = indexOf(calls, 'fsync', ([path]) => path === join(current, `.claim-${id}`));
    const intoPlace = indexOf(calls, 'rename', ([from, to]) => from === join(current, `.claim-${id}`) && to === join(current, id));
    const currentSynced = indexOf(calls, 'fsync', ([path]) => path === current, intoPlace);
    const unlinked = indexOf(calls, 'unlink', ([path]) => path === join(ws.root, 'pipeline-pending', 'drop.json'));
    expect(
      [seed, pipeline, claimFolder, intoPlace, currentSynced, unlinked].every((index) => index >= 0),
      JSON.stringify({ seed, pipeline, claimFolder, intoPlace, currentSynced, unlinked }),
    ).toBe(true);
    expect(Math.max(seed, pipeline)).toBeLessThan(claimFolder);
    expect(claimFolder).toBeLessThan(intoPlace);
    expect(currentSynced).toBeLessThan(unlinked);

    // Atomic write (tasks-status.json, once the run is in place): the temp file, the rename, then its folder.
    const runDir = join(current, id);
    const statusRename = indexOf(
      calls,
      'rename',
      ([from, to]) => to === join(runDir, 'tasks-status.json') && from!.startsWith(join(runDir, '.tasks-status.json')),
    );
    expect(statusRename).toBeGreaterThan(0);
    const temp = calls[statusRename]!.paths[0]!;
    const tempSynced = indexOf(calls, 'fsync', ([path]) => path === temp);
    expect(tempSynced).toBeGreaterThanOrEqual(0);
    expect(tempSynced).toBeLessThan(statusRename);
    expect(indexOf(calls, 'fsync', ([path]) => path === runDir, statusRename)).toBeGreaterThan(statusRename);

    // Promotion: the move to pipeline-complete/, then both folders.
    const promoted = indexOf(calls, 'rename', ([from, to]) => from === runDir && to === join(complete, id));
    expect(promoted).toBeGreaterThan(0);
    expect(indexOf(calls, 'fsync', ([path]) => path === current, promoted)).toBeGreaterThan(promoted);
    expect(indexOf(calls, 'fsync', ([path]) => path === complete, promoted)).toBeGreaterThan(promoted);
  }, 60_000);
});
