/**
 * A task's subprocesses never outlive it: neither those in its process group nor those that left it
 * with setsid, whether the task times out, finishes, or loses its manager to a SIGKILL.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isProcessRunning, killDaemonHard, makeWorkspace, runnerChildren, runPop, startDaemon, waitFor, type Workspace } from './support/workspace.js';

// Starts a Node process that ignores SIGTERM (in the task's group, or in a session of its own with
// `detached`), writes its pid to <workspace>/<name>.pid, then hangs or returns as the seed says.
const SPAWNING_TASK = `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const stubborn = "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);";
export default {
  prompt: async ({ seed }) => {
    const child = spawn(process.execPath, ['-e', stubborn], { stdio: 'ignore', detached: seed.detached === true });
    child.unref();
    writeFileSync(new URL('../' + seed.name + '.pid', import.meta.url), String(child.pid));
    if (seed.then === 'hang') await new Promise(() => setInterval(() => {}, 1000));
    if (seed.then === 'exit') process.exit(0);
    return 'Say hello';
  },
};
`;

function spawningWorkspace(task: Record<string, unknown> = {}): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': { name: 'spawning', tasks: [{ name: 'spawner', ...task }] },
    'pipeline-tasks/index.js': `import spawner from './spawner.js';\nexport default { spawner };\n`,
    'pipeline-tasks/spawner.js': SPAWNING_TASK,
  });
}

const pidIn = (ws: Workspace, name: string) =>
  waitFor(async () => Number(await readFile(ws.path(`${name}.pid`), 'utf8')) || undefined, { description: `${name}.pid` });

const gone = (pid: number, what: string) => waitFor(() => !isProcessRunning(pid), { description: `${what} (pid ${pid}) to be gone` });

describe("a task's subprocesses end with it", () => {
  it("a grandchild in the task's group that ignores SIGTERM dies when the manager is SIGKILLed", async () => {
    const ws = await spawningWorkspace();
    const daemon = await startDaemon(ws);
    await writeFile(join(ws.pending, 'grouped.json'), JSON.stringify({ name: 'grouped', then: 'hang' }));
    const pid = await pidIn(ws, 'grouped');
    expect(isProcessRunning(pid)).toBe(true);
    await killDaemonHard(daemon);
    await gone(pid, 'the grandchild in the task group');
  });

  it('a grandchild in a session of its own (setsid) dies when the manager is SIGKILLed', async () => {
    const ws = await spawningWorkspace();
    const daemon = await startDaemon(ws);
    await writeFile(join(ws.pending, 'escaped.json'), JSON.stringify({ name: 'escaped', detached: true, then: 'hang' }));
    const pid = await pidIn(ws, 'escaped');
    await killDaemonHard(daemon);
    await gone(pid, 'the setsid grandchild');
  });

  it('a setsid grandchild that ignores SIGTERM dies at the task time limit', async () => {
    const ws = await spawningWorkspace({ timeoutMs: 3000 });
    const daemon = await startDaemon(ws);
    await writeFile(join(ws.pending, 'late.json'), JSON.stringify({ name: 'late', detached: true, then: 'hang' }));
    const pid = await pidIn(ws, 'late');
    const failed = await daemon.waitForEvent('run-failed');
    expect(failed).toMatchObject({ reason: 'timeout' });
    await gone(pid, 'the setsid grandchild');
    expect(daemon.exited()).toBe(false);
  });

  it('a setsid grandchild that ignores SIGTERM dies when its task completes', async () => {
    const ws = await spawningWorkspace();
    await writeFile(join(ws.pending, 'done.json'), JSON.stringify({ name: 'done', detached: true, then: 'return' }));
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(0);
    const pid = await pidIn(ws, 'done');
    await gone(pid, 'the setsid grandchild');
  });

  it('a setsid grandchild that ignores SIGTERM dies when its task calls process.exit', async () => {
    const ws = await spawningWorkspace();
    await writeFile(join(ws.pending, 'quit.json'), JSON.stringify({ name: 'quit', detached: true, then: 'exit' }));
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.events).toContainEqual(expect.objectContaining({ event: 'run-failed', reason: 'exited-without-output' }));
    const pid = await pidIn(ws, 'quit');
    await gone(pid, 'the setsid grandchild');
  });

  it('a task and its setsid grandchild stop themselves when their manager freezes for longer than a job lock', async () => {
    const ws = await spawningWorkspace({ timeoutMs: 600_000 });
    // A lock of 1 s (as the queue tests shorten it): the task hears a heartbeat every 200 ms.
    process.env.POP_QUEUE_LOCK_MS = '1000';
    const daemon = await startDaemon(ws).finally(() => delete process.env.POP_QUEUE_LOCK_MS);
    await writeFile(join(ws.pending, 'frozen.json'), JSON.stringify({ name: 'frozen', detached: true, then: 'hang' }));
    const pid = await pidIn(ws, 'frozen');
    // The task process is the grandchild's parent.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const runner = (await runnerChildren(ws)).find((child) => child.pid === parent);
    expect(runner).toBeDefined();
    const manager = daemon.subprocess.pid as number;
    process.kill(manager, 'SIGSTOP');
    try {
      await gone(runner!.pid, 'the task process of a frozen manager');
      await gone(pid, 'the setsid grandchild of a frozen manager');
    } finally {
      process.kill(manager, 'SIGCONT');
    }
  });
});
