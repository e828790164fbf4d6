/**
 * The call cache: with `cache: true`, a call identical in everything that can change the answer
 * is answered from `.pop/cache/` without a request, at no cost; anything else makes the request.
 */
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import { pop } from './support/cli.js';
import { GOOD_VALUE, jsonReply, llmWorkspace, popEnv, runPopWithEnv, serverError, startFakeLlm, type FakeLlm } from './support/fake-llm-server.js';
import { REPO_ROOT, readJson, readRunRecords, readValid, type Workspace } from './support/workspace.js';

const KEY = 'sk-test-call-cache';
const env = () => popEnv({ OPENAI_API_KEY: KEY });
const PRICES = { prices: { 'oai:gpt-test': { inputPerMillion: 1_000_000, outputPerMillion: 1_000_000 } } };

async function drop(ws: Workspace, name: string, seed: object): Promise<void> {
  const temp = join(ws.pending, `.${name}.tmp`);
  await writeFile(temp, JSON.stringify(seed));
  await rename(temp, join(ws.pending, `${name}.json`));
}

/** The 04-response.json of the run made from `seed`. */
async function responseOf(ws: Workspace, seed: string): Promise<Record<string, unknown>> {
  for (const base of [ws.complete, ws.current]) {
    const run = (await readdir(base)).find((name) => name.includes(`-${seed}-`));
    if (run) return (await readJson(join(base, run, 'tasks', 'ask', '04-response.json'))) as Record<string, unknown>;
  }
  throw new Error(`no run of seed ${seed}`);
}

async function runOnce(ws: Workspace, extra: string[] = []) {
  const result = await runPopWithEnv(ws, ['start', '--once', ...extra], env());
  expect(result.exitCode, result.stderr).toBe(0);
  return result;
}

async function cachedWorkspace(fake: FakeLlm, more: Record<string, unknown> = {}) {
  const ws = await llmWorkspace(fake, { model: 'oai:gpt-test', pipeline: { defaults: { cache: true }, ...PRICES, ...more } });
  await rename(join(ws.pending, 'q.json'), join(ws.pending, 'first.json'));
  return ws;
}

describe('the call cache', () => {
  it('answers the same seeds again without a request and at no cost; counts the cached calls', async () => {
    const fake = await startFakeLlm();
    fake.always(jsonReply(GOOD_VALUE, { input: 30, output: 10 }));
    const ws = await cachedWorkspace(fake);
    await runOnce(ws);
    expect(fake.requests).toHaveLength(1);

    await drop(ws, 'again', { q: 'Why is the sea salty?' });
    await runOnce(ws);
    expect(fake.requests).toHaveLength(1);

    const response = await responseOf(ws, 'again');
    expect(response).toMatchObject({ cached: true, model: 'oai:gpt-test', usage: { inputTokens: 30, outputTokens: 10 } });
    expect(await responseOf(ws, 'first')).not.toHaveProperty('cached');
    const records = await readRunRecords(ws);
    const again = records.find((record) => record.seed === 'again.json')!;
    expect(again.totals).toMatchObject({ calls: 0, cachedCalls: 1, inputTokens: 0, outputTokens: 0 });
    expect(again.totals.costUsd ?? 0).toBe(0);
    expect(records.find((record) => record.seed === 'first.json')!.totals).toMatchObject({ calls: 1, costUsd: 40 });
    const runDir = join(ws.complete, (await readdir(ws.complete)).find((name) => name.includes('-again-'))!);
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask?.usage).toEqual({ inputTokens: 0, outputTokens: 0, calls: 0, cachedCalls: 1 });

    const stats = await pop(ws, ['cache', 'stats', '--json']);
    expect(JSON.parse(stats.stdout)).toMatchObject({ entries: 1 });

    // --no-cache: the request is made, whatever the task says.
    await drop(ws, 'uncached', { q: 'Why is the sea salty?' });
    await runOnce(ws, ['--no-cache']);
    expect(fake.requests).toHaveLength(2);
    expect(await responseOf(ws, 'uncached')).not.toHaveProperty('cached');
  });

  it('misses when the prompt, the schema, the model or the server changes', async () => {
    const fake = await startFakeLlm();
    const other = await startFakeLlm();
    fake.always(jsonReply(GOOD_VALUE));
    other.always(jsonReply(GOOD_VALUE));
    const ws = await cachedWorkspace(fake);
    await runOnce(ws);
    expect(fake.requests).toHaveLength(1);

    await drop(ws, 'prompt', { q: 'Why is the sea blue?' });
    await runOnce(ws);
    expect(fake.requests).toHaveLength(2);

    const pipeline = JSON.parse(await readFile(ws.pipelineFile, 'utf8'));
    pipeline.tasks[0].model = 'oai:gpt-other';
    await writeFile(ws.pipelineFile, JSON.stringify(pipeline));
    await drop(ws, 'model', { q: 'Why is the sea salty?' });
    await runOnce(ws);
    expect(fake.requests.map((request) => request.model)).toEqual(['gpt-test', 'gpt-test', 'gpt-other']);

    pipeline.providers.oai.baseURL = other.openaiBaseURL;
    await writeFile(ws.pipelineFile, JSON.stringify(pipeline));
    await drop(ws, 'server', { q: 'Why is the sea salty?' });
    await runOnce(ws);
    expect(other.requests).toHaveLength(1);

    const task = await readFile(ws.path('pipeline-tasks', 'ask.js'), 'utf8');
    await writeFile(
      ws.path('pipeline-tasks', 'ask.js'),
      task.replace('confidence: z.number().min(0).max(1)', 'confidence: z.number().min(0).max(1), note: z.string().optional()'),
    );
    await drop(ws, 'schema', { q: 'Why is the sea salty?' });
    await runOnce(ws);
    expect(other.requests).toHaveLength(2);

    // And the same again, with nothing changed, hits.
    await drop(ws, 'same', { q: 'Why is the sea salty?' });
    await runOnce(ws);
    expect(other.requests).toHaveLength(2);
    expect(await responseOf(ws, 'same')).toMatchObject({ cached: true });
  });

  it('never stores a failure: the next identical call makes the request', async () => {
    const fake = await startFakeLlm();
    fake.queue(serverError(1), serverError(1));
    fake.always(jsonReply(GOOD_VALUE));
    const ws = await cachedWorkspace(fake);
    const failed = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(failed.exitCode).toBe(1);
    expect(fake.requests).toHaveLength(2);
    expect(JSON.parse((await pop(ws, ['cache', 'stats', '--json'])).stdout)).toMatchObject({ entries: 0 });

    await drop(ws, 'retry', { q: 'Why is the sea salty?' });
    await runOnce(ws);
    expect(fake.requests).toHaveLength(3);
    expect(await responseOf(ws, 'retry')).not.toHaveProperty('cached');
  });

  it('two processes storing one key at once leave one whole file', async () => {
    const ws = await cachedWorkspace(await startFakeLlm());
    const dir = ws.path('.pop', 'cache');
    const key = 'ab'.repeat(32);
    const writer = (text: string) => `
      import { CallCache } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'gateway', 'call-cache.js'))};
      const cache = new CallCache(${JSON.stringify(dir)});
      const text = ${JSON.stringify(text)}.repeat(200000);
      for (let i = 0; i < 20; i++) await cache.put(${JSON.stringify(key)}, { model: 'oai:m', servedModel: 'm', text, usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1, createdAt: new Date().toISOString() });
    `;
    await Promise.all(['x', 'y'].map((text) => execa(process.execPath, ['--input-type=module', '-e', writer(text)])));
    const files = await readdir(join(dir, 'ab'));
    expect(files).toEqual([`${key}.json`]);
    const stored = JSON.parse(await readFile(join(dir, 'ab', `${key}.json`), 'utf8'));
    expect(['x'.repeat(200000), 'y'.repeat(200000)]).toContain(stored.reply.text);

    expect((await pop(ws, ['cache', 'clear', '--older-than', '7d'])).stdout).toContain('removed 0');
    expect((await pop(ws, ['cache', 'clear', '--older-than', 'soon'])).exitCode).toBe(2);
    expect((await pop(ws, ['cache', 'clear'])).stdout).toContain('removed 1');
    expect(JSON.parse((await pop(ws, ['cache', 'stats', '--json'])).stdout)).toMatchObject({ entries: 0 });
  });
});
