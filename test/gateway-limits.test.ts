/**
 * The gateway's provider limits and its view of a provider that is down, with the official SDKs
 * against a local server that rate-limits, pauses, and stops as real providers do.
 */
import { readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { popInBackground } from './support/cli.js';
import {
  GOOD_VALUE,
  JSON_TASK,
  jsonReply,
  llmWorkspace,
  logLines,
  popEnv,
  rateLimited,
  runPopWithEnv,
  serverError,
  slow,
  startFakeLlm,
  type FakeLlm,
} from './support/fake-llm-server.js';
import { makeWorkspace, readJson, readRunRecords, registryModule, waitFor, type Workspace } from './support/workspace.js';

const KEY = 'sk-test-gateway-limits';
const env = () => popEnv({ OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY });

/** A workspace whose steps all run the JSON task against `fake`, with these seeds pending. */
async function stepsWorkspace(fake: FakeLlm, steps: Array<Record<string, unknown>>, seeds: number, oai: Record<string, unknown> = {}): Promise<Workspace> {
  const files: Record<string, string | object> = {
    'pipeline.json': {
      name: 'limits',
      tasks: steps.map((step) => ({ task: 'ask', model: 'oai:gpt-test', ...step })),
      providers: { oai: { type: 'openai', baseURL: fake.openaiBaseURL, apiKeyEnv: 'OPENAI_API_KEY', maxRetries: 2, ...oai } },
    },
    'pipeline-tasks/index.js': registryModule(['ask']),
    'pipeline-tasks/ask.js': JSON_TASK,
  };
  for (let i = 0; i < seeds; i++) files[`pipeline-pending/s${i}.json`] = { q: `Question ${i}?` };
  return makeWorkspace(files);
}

/** Drop a seed whole, as `submit` does. */
async function drop(ws: Workspace, name: string, seed: object): Promise<void> {
  const temp = join(ws.pending, `.${name}.tmp`);
  await writeFile(temp, JSON.stringify(seed));
  await rename(temp, join(ws.pending, `${name}.json`));
}

/** Every task.log line of every run of the workspace, with the folder it came from. */
async function allTaskLogLines(ws: Workspace): Promise<Array<Record<string, unknown> & { dir: string }>> {
  const lines: Array<Record<string, unknown> & { dir: string }> = [];
  for (const base of [ws.complete, ws.current]) {
    for (const run of (await readdir(base)).filter((name) => !name.includes('.'))) {
      for (const task of await readdir(join(base, run, 'tasks'))) {
        const dir = join(base, run, 'tasks', task);
        for (const line of await logLines(join(dir, 'task.log'))) lines.push({ ...line, dir });
      }
    }
  }
  return lines;
}

describe('provider limits', () => {
  it('requestsPerMinute under a server limit of 5 a second (200 a minute, room for the jitter of a busy machine): 40 calls from 8 processes at once, no 429, every run complete', async () => {
    const fake = await startFakeLlm();
    fake.limitRate(5);
    fake.always(jsonReply(GOOD_VALUE));
    const steps = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name }));
    const ws = await stepsWorkspace(fake, steps, 8, { limits: { requestsPerMinute: 200 } });

    const result = await runPopWithEnv(ws, ['start', '--once', '--concurrency', '8'], env(), 120_000);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.rateLimitedCount()).toBe(0);
    expect(fake.requests).toHaveLength(40);
    expect(await readRunRecords(ws)).toHaveLength(8);
    // The spacing showed: calls waited for their turn, and said so in their task.log.
    expect((await allTaskLogLines(ws)).some((line) => line.event === 'model-waiting' && line.reason === 'requests-per-minute')).toBe(true);
    // The manager says so too (what the live line shows), naming the run, the task and the wait.
    const waiting = result.events.filter((line) => line.event === 'task-waiting');
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting[0]).toMatchObject({ run: expect.any(String), task: expect.any(String), model: expect.any(String), reason: 'requests-per-minute' });
  }, 150_000);

  it('tokensPerMinute: a call waits until the estimate of the one before is replaced by its real usage', async () => {
    const fake = await startFakeLlm();
    // Each call really uses 800 tokens; each is reckoned at its prompt plus 1024 before it is made.
    fake.always(slow(500, jsonReply(GOOD_VALUE, { input: 400, output: 400 })));
    const ws = await stepsWorkspace(fake, [{ name: 'a' }], 2, { limits: { tokensPerMinute: 2000 } });

    const result = await runPopWithEnv(ws, ['start', '--once', '--concurrency', '2'], env());
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.requests).toHaveLength(2);
    const [first, second] = fake.requests;
    // Two estimates (about 2 × 1040) do not fit in 2000: the second call went only after the first
    // was answered (800 tokens), so the minute never held more than 2000 tokens plus one estimate.
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(500);
    const waited = (await allTaskLogLines(ws)).filter((line) => line.event === 'model-waiting');
    expect(waited).toEqual([expect.objectContaining({ reason: 'tokens-per-minute', model: 'oai:gpt-test' })]);
    const records = await readRunRecords(ws);
    expect(records.reduce((sum, run) => sum + run.totals.inputTokens + run.totals.outputTokens, 0)).toBe(1600);
  });

  it('a 429 with retry-after: 2 to one call pauses the provider: the other tasks’ next calls wait too', async () => {
    const fake = await startFakeLlm();
    fake.queueFor('gpt-first', rateLimited('2'));
    fake.always(jsonReply(GOOD_VALUE));
    const ws = await stepsWorkspace(
      fake,
      [
        { name: 'first', model: 'oai:gpt-first' },
        { name: 'second', model: 'oai:gpt-second' },
      ],
      3,
    );

    const result = await runPopWithEnv(ws, ['start', '--once', '--concurrency', '3'], env());
    expect(result.exitCode, result.stderr).toBe(0);
    const limited = fake.requests[0]!;
    expect(limited.model).toBe('gpt-first');
    // No request reached the server in the 2 s it asked for, whichever task it came from.
    const during = fake.requests.slice(1).filter((request) => request.receivedAt < limited.receivedAt + 1900);
    expect(during.filter((request) => request.model === 'gpt-second')).toEqual([]);
    const paused = (await allTaskLogLines(ws)).filter((line) => line.event === 'model-waiting' && line.reason === 'paused');
    expect(paused.length).toBeGreaterThan(0);
    expect(await readRunRecords(ws)).toHaveLength(3);
  });
});

describe('a provider that is down', () => {
  it('is skipped without a connection attempt once it failed to connect, and used again when it is back', async () => {
    const down = await startFakeLlm();
    const backup = await startFakeLlm();
    down.always(jsonReply(GOOD_VALUE));
    backup.always(jsonReply(GOOD_VALUE));
    down.stop();
    const ws = await llmWorkspace(backup, { model: ['oai:gpt-test', 'anth:claude-test'], providers: { oai: { baseURL: down.openaiBaseURL, maxRetries: 2 } } });
    const daemon = popInBackground(ws, ['start', '--json', '--concurrency', '4'], { env: env(), extendEnv: false, timeoutMs: 120_000 });
    try {
      const answerOf = async (seed: string) => {
        const done = await daemon.waitForEvent('run-complete', (line) => String(line.run).includes(`-${seed}-`));
        return (await readJson(join(String(done.dir), 'tasks', 'ask', '04-response.json'))) as {
          model: string;
          skipped: Array<{ model: string; reason: string }>;
        };
      };
      const first = await answerOf('q');
      expect(first.model).toBe('anth:claude-test');
      expect(first.skipped).toEqual([expect.objectContaining({ model: 'oai:gpt-test', reason: 'connection' })]);
      // One connection attempt: the SDK's retries were not sent to a provider known to be down.
      expect(down.droppedConnections()).toBe(1);

      // Four more tasks at once: none of them connects, but the one that may probe whether the
      // provider is back (when its first while is over).
      const later = ['later1', 'later2', 'later3', 'later4'];
      await Promise.all(later.map((seed) => drop(ws, seed, { q: 'And now?' })));
      const answers = await Promise.all(later.map(answerOf));
      for (const answer of answers) expect(answer.model).toBe('anth:claude-test');
      const skippedDown = answers.filter((answer) => answer.skipped[0]?.reason === 'provider-down');
      expect(skippedDown.length).toBeGreaterThanOrEqual(3);
      expect(down.droppedConnections()).toBeLessThanOrEqual(2);

      down.restart();
      let n = 0;
      const back = await waitFor(
        async () => {
          const seed = `back${++n}`;
          await drop(ws, seed, { q: 'Back?' });
          const answer = await answerOf(seed);
          return answer.model === 'oai:gpt-test' ? answer : undefined;
        },
        { timeoutMs: 60_000, description: 'a call answered by the provider that came back' },
      );
      expect(back.skipped).toEqual([]);
      expect(down.requests.length).toBeGreaterThan(0);
    } finally {
      daemon.subprocess.kill('SIGTERM');
      await daemon.done();
    }
  }, 150_000);

  it('answering 500 to every call: left alone longer after each failed probe, 2, 4, then 8 s', async () => {
    const failing = await startFakeLlm();
    const backup = await startFakeLlm();
    failing.always(serverError());
    backup.always(jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(backup, {
      model: ['oai:gpt-test', 'anth:claude-test'],
      providers: { oai: { baseURL: failing.openaiBaseURL, maxRetries: 0 } },
    });
    // One task at a time: each call to the failing provider is either one of the three that mark it down, or a probe.
    const daemon = popInBackground(ws, ['start', '--json', '--concurrency', '1'], { env: env(), extendEnv: false, timeoutMs: 120_000 });
    try {
      let n = 0;
      await waitFor(
        async () => {
          const seed = `q${++n}`;
          await drop(ws, seed, { q: 'Still down?' });
          await daemon.waitForEvent('run-complete', (line) => String(line.run).includes(`-${seed}-`));
          return failing.requests.length >= 6;
        },
        { timeoutMs: 90_000, description: () => `three probes after the provider went down (${failing.requests.length} requests so far)` },
      );
      const at = failing.requests.map((request) => request.receivedAt);
      // Requests 0-2 marked it down; 3, 4 and 5 are probes, each after a while twice the last.
      expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(1900);
      expect(at[4]! - at[3]!).toBeGreaterThanOrEqual(3900);
      expect(at[5]! - at[4]!).toBeGreaterThanOrEqual(7900);
    } finally {
      daemon.subprocess.kill('SIGTERM');
      await daemon.done();
    }
  }, 150_000);
});
