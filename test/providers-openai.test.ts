/**
 * The `openai` provider (official SDK, Chat Completions) against a local server speaking its wire
 * format, through the real CLI: replies, structured output, usage, and the SDK's own retries.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutputSchema } from '../src/formats/output.js';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import {
  GOOD_VALUE,
  TEXT_TASK,
  jsonReply,
  llmWorkspace,
  logLines,
  onlyRun,
  popEnv,
  rateLimited,
  reply,
  runPopWithEnv,
  serverError,
  startFakeLlm,
} from './support/fake-llm-server.js';
import { readJson, readRunRecords, readValid, runDirs } from './support/workspace.js';

const KEY = 'sk-test-openai-provider-tests';
const env = () => popEnv({ OPENAI_API_KEY: KEY });

describe('openai provider (Chat Completions)', () => {
  it('sends a text task as chat messages and records the reply and its usage everywhere', async () => {
    const fake = await startFakeLlm();
    fake.queue(reply('Rivers carry salt to the sea.', { input: 23, output: 9 }));
    const ws = await llmWorkspace(fake, {
      model: 'oai:gpt-test',
      module: TEXT_TASK,
      pipeline: { prices: { 'oai:gpt-test': { inputPerMillion: 1_000_000, outputPerMillion: 2_000_000 } } },
    });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);

    expect(fake.requests).toHaveLength(1);
    const request = fake.requests[0]!;
    expect(request).toMatchObject({ api: 'openai', method: 'POST', path: '/v1/chat/completions', model: 'gpt-test' });
    expect(request.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request.body.messages).toEqual([
      { role: 'system', content: 'Answer in one sentence.' },
      { role: 'user', content: 'Why is the sea salty?' },
    ]);
    expect(request.body.response_format).toBeUndefined();

    const runDir = await onlyRun(ws, 'complete');
    const taskDir = join(runDir, 'tasks', 'ask');
    const usage = { inputTokens: 23, outputTokens: 9, calls: 1 };
    const output = await readValid(OutputSchema, join(taskDir, 'output.json'));
    expect(output).toMatchObject({ value: 'Rivers carry salt to the sea.', model: 'oai:gpt-test', usage, refinements: 0, costUsd: 41 });
    expect(await readJson(join(taskDir, '04-response.json'))).toMatchObject({
      model: 'oai:gpt-test',
      text: 'Rivers carry salt to the sea.',
      usage: { inputTokens: 23, outputTokens: 9 },
      skipped: [],
    });

    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask).toMatchObject({ state: 'complete', model: 'oai:gpt-test', usage, costUsd: 41 });

    const records = await readRunRecords(ws);
    expect(records).toHaveLength(1);
    expect(records[0]?.tasks).toEqual([expect.objectContaining({ name: 'ask', usage, costUsd: 41 })]);
    expect(records[0]?.totals).toMatchObject({ calls: 1, inputTokens: 23, outputTokens: 9, costUsd: 41 });

    const log = await logLines(join(taskDir, 'task.log'));
    expect(log).toContainEqual(
      expect.objectContaining({ event: 'model-replied', model: 'oai:gpt-test', servedModel: 'gpt-test', usage: { inputTokens: 23, outputTokens: 9 } }),
    );
  });

  it("asks for the task's schema with response_format json_schema and parses the JSON reply", async () => {
    const fake = await startFakeLlm();
    fake.queue(jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-test' });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);

    const format = fake.requests[0]?.body.response_format;
    expect(format).toMatchObject({ type: 'json_schema', json_schema: { name: 'ask', strict: false } });
    expect(format.json_schema.schema).toMatchObject({
      type: 'object',
      properties: { answer: { type: 'string', minLength: 1 }, confidence: { type: 'number', minimum: 0, maximum: 1 } },
      required: ['answer', 'confidence'],
    });
    expect(format.json_schema.schema.$schema).toBeUndefined();

    const runDir = await onlyRun(ws, 'complete');
    const output = await readValid(OutputSchema, join(runDir, 'tasks', 'ask', 'output.json'));
    expect(output).toMatchObject({ value: GOOD_VALUE, model: 'oai:gpt-test', usage: { inputTokens: 11, outputTokens: 7, calls: 1 }, refinements: 0 });
    // The schema that was asked for is the one 03-prompt.json shows.
    const prompt = (await readJson(join(runDir, 'tasks', 'ask', '03-prompt.json'))) as { schema: Record<string, unknown> };
    expect(prompt.schema.properties).toEqual(format.json_schema.schema.properties);
  });

  it('waits out a 429 with retry-after, retries, shows the retry in task.log and completes', async () => {
    const fake = await startFakeLlm();
    fake.queue(rateLimited('1'), jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-test', providers: { oai: { maxRetries: 2 } } });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);

    expect(fake.requests).toHaveLength(2);
    const [first, second] = fake.requests;
    // retry-after: 1 (seconds) was honoured, not the SDK's shorter default backoff.
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(900);
    expect(second!.headers['x-stainless-retry-count']).toBe('1');

    const runDir = await onlyRun(ws, 'complete');
    const taskDir = join(runDir, 'tasks', 'ask');
    const log = await logLines(join(taskDir, 'task.log'));
    const retries = log.filter((line) => line.event === 'model-retry');
    expect(retries).toEqual([expect.objectContaining({ level: 'warn', provider: 'oai', model: 'oai:gpt-test', status: 429, attemptsRemaining: 2 })]);
    expect(String(retries[0]?.msg)).toMatch(/failed with status 429 .* retrying, 2 attempts remaining/);

    // One task, one call as far as the pipeline is concerned; the retry is the SDK's.
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask).toMatchObject({ state: 'complete', attempts: 1, refinements: 0, usage: { calls: 1 } });
    expect(await readJson(join(taskDir, '04-response.json'))).toMatchObject({ model: 'oai:gpt-test', skipped: [] });
  });

  it('retries 500 three times within maxRetries 3 and completes on the fourth try', async () => {
    const fake = await startFakeLlm();
    fake.queue(serverError(10), serverError(10), serverError(10), jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-test', providers: { oai: { maxRetries: 3 } } });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.requests).toHaveLength(4);
    expect(fake.requests.map((request) => request.headers['x-stainless-retry-count'])).toEqual(['0', '1', '2', '3']);

    const runDir = await onlyRun(ws, 'complete');
    expect(await runDirs(ws.current)).toEqual([]);
    const log = await logLines(join(runDir, 'tasks', 'ask', 'task.log'));
    expect(log.filter((line) => line.event === 'model-retry').map((line) => [line.status, line.attemptsRemaining])).toEqual([
      [500, 3],
      [500, 2],
      [500, 1],
    ]);
    const output = await readValid(OutputSchema, join(runDir, 'tasks', 'ask', 'output.json'));
    expect(output).toMatchObject({ value: GOOD_VALUE, usage: { calls: 1 } });
  });
});
