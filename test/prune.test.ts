/** `pop prune`: removes old failed runs (complete ones only when asked), and only those. */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { pop } from './support/cli.js';
import { cannotRunHere } from './support/prerequisites.js';
import { ASK_TASK, CLI, REPO_ROOT, makeWorkspace, readRunRecords, registryModule, runDirs, runPop } from './support/workspace.js';

// Fails for a seed that says so.
const PICKY_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ answer: z.string().min(1) }),
  prompt: ({ seed }) => {
    if (seed.fail) throw new Error('this seed fails on purpose');
    return \`Answer: \${seed.q}\`;
  },
});
`;

const DAY = 86_400_000;

/** A separate process holding a run's lock with POP's own lock code, until released. */
function holdLock(path: string): { pid: number; held: Promise<void>; release: () => Promise<void> } {
  const script = `const { acquireLock } = await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'fs', 'lock-file.js'))});
const lock = await acquireLock(${JSON.stringify(path)}, 'resume');
if (!lock.ok) process.exit(1);
process.stdout.write('held\\n');
process.stdin.on('end', () => lock.value.release().then(() => process.exit(0)));
process.stdin.resume();`;
  const child = execa(process.execPath, ['--input-type=module', '-e', script], { stdin: 'pipe', reject: false });
  const held = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => (chunk.toString().includes('held') ? resolve() : undefined));
    void child.then((result) => reject(new Error(`the lock holder exited: ${result.stderr}`)));
  });
  return {
    pid: child.pid!,
    held,
    release: async () => {
      child.stdin?.end();
      await child;
    },
  };
}

/** Make a run look as if its state last changed `days` ago. */
async function age(runDir: string, days: number): Promise<void> {
  const file = join(runDir, 'tasks-status.json');
  const status = JSON.parse(await readFile(file, 'utf8')) as { updatedAt: string };
  status.updatedAt = new Date(Date.now() - days * DAY).toISOString();
  await writeFile(file, JSON.stringify(status, null, 2));
}

describe('pop prune', () => {
  it('removes failed runs older than --older-than, leaves recent, busy and complete ones, and complete ones only with --complete', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'prune', tasks: ['picky'] },
      'pipeline-tasks/index.js': registryModule(['picky']),
      'pipeline-tasks/picky.js': PICKY_TASK,
      'pipeline-tasks/ask.js': ASK_TASK,
      'pipeline-pending/old-fail.json': { q: 'a', fail: true },
      'pipeline-pending/new-fail.json': { q: 'b', fail: true },
      'pipeline-pending/busy-fail.json': { q: 'c', fail: true },
      'pipeline-pending/old-done.json': { q: 'd' },
    });
    const start = await runPop(ws, ['start', '--once']);
    expect(start.exitCode).toBe(1);
    const failed = await runDirs(ws.current);
    const [complete] = await runDirs(ws.complete);
    const idOf = (seed: string) => failed.find((id) => id.includes(seed))!;
    expect(failed).toHaveLength(3);
    await age(join(ws.current, idOf('old-fail')), 10);
    await age(join(ws.current, idOf('busy-fail')), 10);
    await age(join(ws.complete, complete!), 10);
    // Another live process holds the lock of one old failed run, as a resume would.
    await mkdir(join(ws.current, '.locks'), { recursive: true });
    const holder = holdLock(join(ws.current, '.locks', `${idOf('busy-fail')}.lock`));
    await holder.held;

    // Not on a terminal and without --yes: says what it would remove, removes nothing.
    const asked = await pop(ws, ['prune', '--failed', '--older-than', '7d']);
    expect(asked.exitCode).toBe(2);
    const listed = [idOf('busy-fail'), idOf('old-fail')].sort().map((id) => expect.stringMatching(new RegExp(`^  ${id}  failed  \\d{4}-`)));
    expect(asked.stdout.split('\n')).toEqual(['2 run(s) to remove:', ...listed]);
    expect(asked.stderr).toBe('pop: not removed: add --yes to remove them without asking');
    expect(await runDirs(ws.current)).toEqual(failed);

    const pruned = await pop(ws, ['prune', '--failed', '--older-than', '7d', '--yes']);
    expect(pruned.exitCode).toBe(4);
    expect(pruned.stdout).toBe(`removed ${join(ws.current, idOf('old-fail'))}`);
    expect(pruned.stderr).toBe(`pop: kept ${join(ws.current, idOf('busy-fail'))}: busy: process ${holder.pid} (resume) is working on it`);
    await holder.release();
    expect(await runDirs(ws.current)).toEqual([idOf('busy-fail'), idOf('new-fail')].sort());
    expect(await runDirs(ws.complete)).toEqual([complete]);

    // Complete runs only when asked; their runs.jsonl line stays.
    const none = await pop(ws, ['prune', '--failed', '--older-than', '30d', '--yes']);
    expect(none).toMatchObject({ exitCode: 0, stdout: 'nothing to remove' });
    const done = await pop(ws, ['prune', '--complete', '--older-than', '7d', '--yes']);
    expect(done).toMatchObject({ exitCode: 0, stdout: `removed ${join(ws.complete, complete!)}`, stderr: '' });
    expect(await runDirs(ws.complete)).toEqual([]);
    expect((await readRunRecords(ws)).map((record) => record.id)).toEqual([complete]);
    expect(await runDirs(ws.current)).toEqual([idOf('busy-fail'), idOf('new-fail')].sort());
  });

  it('needs to be told which runs, and an age it understands', async () => {
    const ws = await makeWorkspace({ 'pipeline.json': { name: 'prune', tasks: ['picky'] } });
    expect(await pop(ws, ['prune', '--older-than', '7d'])).toMatchObject({
      exitCode: 2,
      stderr: 'pop: say which runs to remove: --failed (failed runs in pipeline-current/), --complete (runs in pipeline-complete/), or both',
    });
    const badAge = await pop(ws, ['prune', '--failed', '--older-than', 'a week']);
    expect(badAge.exitCode).toBe(2);
    expect(badAge.stderr).toContain("option '--older-than <age>' argument 'a week' is invalid. must be a number and a unit: 45s, 30m, 12h, 7d or 2w");
  });

  // util-linux `script` gives the command a terminal, so prune asks; the answer is typed into it.
  it('asks on a terminal, and removes only after a yes', async (context) => {
    if (!existsSync('/usr/bin/script')) return cannotRunHere(context, '/usr/bin/script is missing', 'apt-get install -y util-linux');
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'prune', tasks: ['picky'] },
      'pipeline-tasks/index.js': registryModule(['picky']),
      'pipeline-tasks/picky.js': PICKY_TASK,
      'pipeline-pending/doomed.json': { q: 'a', fail: true },
    });
    expect((await runPop(ws, ['start', '--once'])).exitCode).toBe(1);
    const [id] = await runDirs(ws.current);
    const onTerminal = (answer: string) =>
      execa('/usr/bin/script', ['-qec', `${process.execPath} ${CLI} prune --failed --root ${ws.root}`, '/dev/null'], {
        input: `${answer}\n`,
        reject: false,
        timeout: 30_000,
      });

    const no = await onTerminal('n');
    expect(no.exitCode).toBe(0);
    expect(no.stdout).toContain(`Remove these 1 run(s)? [y/N]`);
    expect(no.stdout).toContain('nothing removed');
    expect(await runDirs(ws.current)).toEqual([id]);

    const yes = await onTerminal('y');
    expect(yes.exitCode).toBe(0);
    expect(yes.stdout).toContain(`removed ${join(ws.current, id!)}`);
    expect(await runDirs(ws.current)).toEqual([]);
  });
});
