/**
 * Tasks that attack the manager through their channel, forge messages, print without end or fail
 * in odd places: each one fails only itself, the manager stays up, and a healthy run beside it
 * completes.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStatusSchema, type RunStatus } from '../src/formats/tasks-status.js';
import { makeWorkspace, readRunRecords, readValid, registryModule, runDirs, runPop, type PopResult, type Workspace } from './support/workspace.js';

// Misbehaves the way its seed asks. The runner's channel is Node's IPC fd where there is one
// (NODE_CHANNEL_FD), else the pipe on fd 3.
const HOSTILE_TASK = `import { writeSync } from 'node:fs';
import { z } from 'pop';
const channelFd = Number(process.env.NODE_CHANNEL_FD ?? 3);
const forever = () => new Promise(() => setInterval(() => {}, 1000));
const usage = { inputTokens: 1, outputTokens: 1, calls: 1 };
// The channel is non-blocking: write all of it, whatever the pipe takes at a time.
const writeAll = (text) => {
  let rest = Buffer.from(text);
  while (rest.length > 0) {
    try { rest = rest.subarray(writeSync(channelFd, rest)); } catch (error) { if (error.code !== 'EAGAIN') throw error; }
  }
};
const forge = (message) => (process.send ? process.send(message) : writeAll(JSON.stringify(message) + '\\n'));
export default {
  ingest: ({ seed }) => {
    if (seed.mode === 'bigint') return { count: 10n };
    if (seed.mode === 'circular') { const loop = { seed }; loop.self = loop; return loop; }
    return { seed };
  },
  prompt: async ({ seed }, ctx) => {
    switch (seed.mode) {
      case 'huge-mock':
        // The built-in mock builds its reply in the manager: a hundred million items, if it tried.
        await ctx.callModel([{ role: 'user', content: 'Many, please.' }], { schema: z.object({ list: z.array(z.string()).min(100_000_000) }) });
        break;
      case 'deep-stage':
        // A valid stage message, but for a field nested a hundred thousand deep.
        writeAll('{"type":"stage","stage":"prompt","attempt":1,"extra":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}\\n');
        break;
      case 'long-stage':
        forge({ type: 'stage', stage: 'x'.repeat(1024 * 1024), call: 1 });
        break;
      case 'many-notes':
        for (let i = 0; i < 300; i++) forge({ type: 'truncated', stage: 'prompt', tokens: 1000 + i, keptTokens: 10 });
        break;
      case 'nested-mock': {
        // A thousand of a thousand of a thousand: a billion strings.
        const thousand = (inner) => z.array(inner).min(1000);
        await ctx.callModel([{ role: 'user', content: 'Many, please.' }], { schema: z.object({ list: thousand(thousand(thousand(z.string()))) }) });
        break;
      }
      case 'internal-ack':
        // Node's IPC is not how a task talks to the manager: there is no process.send to abuse.
        if (process.send !== undefined) throw new Error('process.send is ' + typeof process.send + ', not undefined');
        break;
      case 'garbage':
        writeAll('this is not JSON at all\\n');
        return forever();
      case 'huge-message':
        writeAll('{"type":"stage","stage":"' + 'x'.repeat(48 * 1024 * 1024));
        return forever();
      case 'forged-done':
        forge({ type: 'done', model: null, usage, refinements: 0 });
        await new Promise((resolve) => setTimeout(resolve, 200));
        process.exit(0);
      case 'forged-interrupted':
        forge({ type: 'failed', error: { reason: 'interrupted', message: 'not really' }, usage, refinements: 0 });
        return forever();
      case 'last-words':
        // More than a pipe holds, so the last words are still in a buffer if output is not flushed.
        process.stdout.write('z'.repeat(1024 * 1024) + '\\n');
        console.log('last words before exit');
        process.stderr.write('and one on stderr\\n');
        process.exit(3);
      case 'print-200mb':
      case 'print-200mb-then-throw': {
        const line = 'y'.repeat(1023) + '\\n';
        const block = line.repeat(1024);
        process.stdout.write('FIRST LINE OF OUTPUT\\n');
        for (let i = 0; i < 200; i++) process.stdout.write(block);
        process.stdout.write('LAST LINE OF OUTPUT\\n');
        if (seed.mode.endsWith('throw')) throw new Error('failed after printing a lot');
        break;
      }
    }
    return 'Say something about ' + seed.mode;
  },
};
`;

async function hostileWorkspace(mode: string): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': { name: 'hostile', tasks: ['hostile'] },
    'pipeline-tasks/index.js': registryModule(['hostile']),
    'pipeline-tasks/hostile.js': HOSTILE_TASK,
    'pipeline-pending/bad.json': { mode },
    'pipeline-pending/good.json': { mode: 'behave' },
  });
}

/** Both seeds at once; the manager must finish the batch itself and the good run must complete. */
async function runBoth(mode: string): Promise<{ ws: Workspace; result: PopResult; bad: RunStatus | undefined }> {
  const ws = await hostileWorkspace(mode);
  const result = await runPop(ws, ['start', '--once', '--concurrency', '2']);
  expect(result.signal, result.stderr).toBeUndefined();
  expect(result.stderr).not.toContain('internal error');
  expect(result.events.filter((line) => line.event === 'internal-error')).toEqual([]);
  const records = await readRunRecords(ws);
  expect(records.map((record) => record.seed)).toContain('good.json');
  const [failed] = await runDirs(ws.current);
  const bad = failed ? await readValid(RunStatusSchema, join(ws.current, failed, 'tasks-status.json')) : undefined;
  return { ws, result, bad };
}

describe('a task cannot crash the manager through its channel', () => {
  it("Node's IPC (process.send, and with it the internal NODE_HANDLE_ACK message) is undefined in a task: its run completes", async () => {
    const { result, bad } = await runBoth('internal-ack');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(bad).toBeUndefined();
  });

  it('bytes that are not JSON on the channel fail that task with protocol-violation', async () => {
    const { result, bad } = await runBoth('garbage');
    expect(result.exitCode, result.stderr).toBe(1);
    expect(bad?.tasks.hostile?.error).toMatchObject({ reason: 'protocol-violation' });
    expect(bad?.tasks.hostile?.error?.message).toContain('not JSON');
    expect(bad?.tasks.hostile?.attempts).toBe(1);
  });

  it('a message over the size limit fails that task with protocol-violation', async () => {
    const { result, bad } = await runBoth('huge-message');
    expect(result.exitCode, result.stderr).toBe(1);
    expect(bad?.tasks.hostile?.error).toMatchObject({ reason: 'protocol-violation' });
    expect(bad?.tasks.hostile?.error?.message).toMatch(/larger than \d+ bytes/);
  });

  it('a forged failure claiming to be an interruption is a protocol-violation, not a reason to run again', async () => {
    const { result, bad } = await runBoth('forged-interrupted');
    expect(result.exitCode, result.stderr).toBe(1);
    expect(bad).toMatchObject({ state: 'failed', tasks: { hostile: { state: 'failed', attempts: 1, error: { reason: 'protocol-violation' } } } });
  });
});

describe('a task cannot exhaust the manager through the gateway', () => {
  it('a schema asking the mock for a hundred million items gets an error reply, not a manager out of memory', async () => {
    const { result, bad } = await runBoth('huge-mock');
    expect(result.exitCode, result.stderr).toBe(1);
    expect(bad?.tasks.hostile?.error).toMatchObject({ reason: 'provider-failed' });
    expect(bad?.tasks.hostile?.error?.message).toMatch(/mock refused the request: the schema asks for at least 100000000 items/);
  });

  it('arrays nested in arrays asking the mock for a billion strings get an error reply too', async () => {
    const { result, bad } = await runBoth('nested-mock');
    expect(result.exitCode, result.stderr).toBe(1);
    expect(bad?.tasks.hostile?.error?.message).toMatch(/mock refused the request: the schema asks for more than \d+ values/);
  });
});

describe('the channel is bounded like a seed', () => {
  it('a message nested deeper than a seed may be fails that task with protocol-violation, before it is parsed', async () => {
    const { result, bad } = await runBoth('deep-stage');
    expect(result.exitCode, result.stderr).toBe(1);
    expect(bad?.tasks.hostile?.error).toMatchObject({ reason: 'protocol-violation' });
    expect(bad?.tasks.hostile?.error?.message).toMatch(/nested deeper than \d+ levels/);
  });

  it('a stage name of a megabyte is a protocol-violation', async () => {
    const { result, bad } = await runBoth('long-stage');
    expect(result.exitCode, result.stderr).toBe(1);
    expect(bad?.tasks.hostile?.error).toMatchObject({ reason: 'protocol-violation' });
  });

  it('300 truncation notes: the task completes, and its status keeps at most 100 of them', async () => {
    const { ws, result } = await runBoth('many-notes');
    expect(result.exitCode, result.stderr).toBe(0);
    const statuses = await Promise.all((await runDirs(ws.complete)).map((run) => readValid(RunStatusSchema, join(ws.complete, run, 'tasks-status.json'))));
    const noisy = statuses.find((status) => status.source.file === 'bad.json');
    expect(noisy?.tasks.hostile?.truncated).toHaveLength(100);
    expect(noisy?.tasks.hostile?.truncated?.[0]).toEqual({ stage: 'prompt', tokens: 1000, keptTokens: 10 });
  });
});

describe('the manager trusts only what is on disk', () => {
  it('a forged done message followed by exit 0 does not complete the task without a valid output.json', async () => {
    const { ws, result, bad } = await runBoth('forged-done');
    expect(result.exitCode, result.stderr).toBe(1);
    expect(bad).toMatchObject({ state: 'failed', tasks: { hostile: { state: 'failed', error: { reason: 'exited-without-output', exitCode: 0 } } } });
    expect((await readRunRecords(ws)).map((record) => record.seed)).toEqual(['good.json']);
  });

  it('ingest returning a BigInt fails at the ingestion stage', async () => {
    const { bad } = await runBoth('bigint');
    expect(bad?.tasks.hostile?.error).toMatchObject({ reason: 'task-threw', stage: 'ingestion' });
    expect(bad?.tasks.hostile?.error?.message).toMatch(/BigInt/);
  });

  it('ingest returning a circular object fails at the ingestion stage', async () => {
    const { bad } = await runBoth('circular');
    expect(bad?.tasks.hostile?.error).toMatchObject({ reason: 'task-threw', stage: 'ingestion' });
    expect(bad?.tasks.hostile?.error?.message).toMatch(/circular/i);
  });
});

describe("a task's console output", () => {
  it('what a task prints just before process.exit reaches console.log', async () => {
    const { ws, bad } = await runBoth('last-words');
    expect(bad?.tasks.hostile?.error).toMatchObject({ reason: 'exit-non-zero', exitCode: 3 });
    const text = await readFile(join(ws.current, bad?.id as string, 'tasks', 'hostile', 'console.log'), 'utf8');
    expect(text).toContain('last words before exit');
    expect(text).toContain('and one on stderr');
    expect(bad?.tasks.hostile?.error?.stderrTail).toContain('and one on stderr');
  });

  it('200 MB printed by a task that completes: console.log keeps the first and last 5 MB with a marker', async () => {
    const { ws, result } = await runBoth('print-200mb');
    expect(result.exitCode, result.stderr).toBe(0);
    const runs = await runDirs(ws.complete);
    const statuses = await Promise.all(runs.map((run) => readValid(RunStatusSchema, join(ws.complete, run, 'tasks-status.json'))));
    const loud = statuses.find((status) => status.source.file === 'bad.json');
    const file = join(ws.complete, loud?.id as string, 'tasks', 'hostile', 'console.log');
    await expectCappedConsole(file);
  });

  it('200 MB printed by a task that then throws: console.log capped the same way, and the failure names its stage', async () => {
    const { ws, bad } = await runBoth('print-200mb-then-throw');
    expect(bad?.tasks.hostile?.error).toMatchObject({ reason: 'task-threw', stage: 'prompt' });
    await expectCappedConsole(join(ws.current, bad?.id as string, 'tasks', 'hostile', 'console.log'));
  });
});

async function expectCappedConsole(file: string): Promise<void> {
  const size = (await stat(file)).size;
  expect(size).toBeGreaterThan(10 * 1024 * 1024);
  expect(size).toBeLessThan(10 * 1024 * 1024 + 1024);
  const handle = await readFile(file);
  expect(handle.subarray(0, 100).toString()).toContain('FIRST LINE OF OUTPUT');
  expect(handle.subarray(-100).toString()).toContain('LAST LINE OF OUTPUT');
  const middle = handle.subarray(5 * 1024 * 1024 - 10, 5 * 1024 * 1024 + 300).toString();
  expect(middle).toMatch(/\[POP: \d+ bytes of output left out here; console\.log keeps the first and last 5 MB\]/);
}
