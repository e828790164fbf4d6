/**
 * The `anthropic` provider (official SDK, Messages API) against a local server speaking its wire
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

const KEY = 'sk-ant-test-anthropic-provider-tests';
const env = () => popEnv({ ANTHROPIC_API_KEY: KEY });

describe('anthropic provider (Messages)', () => {
  it('sends a text task to /v1/messages with the system prompt apart, and records the reply and its usage everywhere', async () => {
    const fake = await startFakeLlm();
    fake.queue(reply('Rivers carry salt to the sea.', { input: 31, output: 12 }));
    const ws = await llmWorkspace(fake, {
      model: 'anth:claude-test',
      module: TEXT_TASK,
      pipeline: { prices: { 'anth:claude-test': { inputPerMillion: 1_000_000, outputPerMillion: 1_000_000 } } },
    });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);

    expect(fake.requests).toHaveLength(1);
    const request = fake.requests[0]!;
    // baseURL is the server's root: the SDK adds /v1/messages itself.
    expect(request).toMatchObject({ api: 'anthropic', method: 'POST', path: '/v1/messages', model: 'claude-test' });
    // The key goes where this SDK version puts it: `x-api-key`, or (1.x) `Authorization: Bearer`.
    expect(request.headers['x-api-key'] ?? String(request.headers.authorization).replace(/^Bearer /, '')).toBe(KEY);
    expect(request.headers['anthropic-version']).toEqual(expect.any(String));
    expect(request.body).toMatchObject({
      system: 'Answer in one sentence.',
      messages: [{ role: 'user', content: 'Why is the sea salty?' }],
      max_tokens: expect.any(Number),
    });
    expect(request.body.output_config).toBeUndefined();

    const runDir = await onlyRun(ws, 'complete');
    const taskDir = join(runDir, 'tasks', 'ask');
    const usage = { inputTokens: 31, outputTokens: 12, calls: 1 };
    const output = await readValid(OutputSchema, join(taskDir, 'output.json'));
    expect(output).toMatchObject({ value: 'Rivers carry salt to the sea.', model: 'anth:claude-test', usage, refinements: 0, costUsd: 43 });
    expect(await readJson(join(taskDir, '04-response.json'))).toMatchObject({
      model: 'anth:claude-test',
      usage: { inputTokens: 31, outputTokens: 12 },
      skipped: [],
    });

    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask).toMatchObject({ state: 'complete', model: 'anth:claude-test', usage, costUsd: 43 });

    const records = await readRunRecords(ws);
    expect(records).toHaveLength(1);
    expect(records[0]?.tasks).toEqual([expect.objectContaining({ name: 'ask', usage, costUsd: 43 })]);
    expect(records[0]?.totals).toMatchObject({ calls: 1, inputTokens: 31, outputTokens: 12, costUsd: 43 });
  });

  it("asks for the task's schema with output_config.format json_schema and parses the JSON reply", async () => {
    const fake = await startFakeLlm();
    fake.queue(jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'anth:claude-test' });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);

    const format = fake.requests[0]?.body.output_config?.format;
    expect(format?.type).toBe('json_schema');
    // The SDK's helper adapted it to what Anthropic accepts: closed objects, unsupported bounds in descriptions.
    expect(format.schema).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['answer', 'confidence'],
      properties: { answer: { type: 'string', description: expect.stringContaining('minLength') }, confidence: { type: 'number' } },
    });
    expect(format.schema.$schema).toBeUndefined();

    const runDir = await onlyRun(ws, 'complete');
    const output = await readValid(OutputSchema, join(runDir, 'tasks', 'ask', 'output.json'));
    expect(output).toMatchObject({ value: GOOD_VALUE, model: 'anth:claude-test', usage: { inputTokens: 11, outputTokens: 7, calls: 1 }, refinements: 0 });
  });

  it('waits out a 429 with retry-after, retries, shows the retry in task.log and completes', async () => {
    const fake = await startFakeLlm();
    fake.queue(rateLimited('1'), jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'anth:claude-test', providers: { anth: { maxRetries: 2 } } });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);

    expect(fake.requests).toHaveLength(2);
    const [first, second] = fake.requests;
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(900);

    const runDir = await onlyRun(ws, 'complete');
    const taskDir = join(runDir, 'tasks', 'ask');
    const log = await logLines(join(taskDir, 'task.log'));
    const retries = log.filter((line) => line.event === 'model-retry');
    expect(retries).toEqual([expect.objectContaining({ level: 'warn', provider: 'anth', model: 'anth:claude-test', status: 429, attemptsRemaining: 2 })]);
    expect(String(retries[0]?.msg)).toMatch(/\/v1\/messages failed with status 429 .* retrying, 2 attempts remaining/);

    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask).toMatchObject({ state: 'complete', attempts: 1, refinements: 0, usage: { calls: 1 } });
  });

  it('retries 500 three times within maxRetries 3 and completes on the fourth try', async () => {
    const fake = await startFakeLlm();
    fake.queue(serverError(10), serverError(10), serverError(10), jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'anth:claude-test', providers: { anth: { maxRetries: 3 } } });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.requests).toHaveLength(4);

    const runDir = await onlyRun(ws, 'complete');
    expect(await runDirs(ws.current)).toEqual([]);
    const log = await logLines(join(runDir, 'tasks', 'ask', 'task.log'));
    expect(log.filter((line) => line.event === 'model-retry').map((line) => [line.status, line.attemptsRemaining])).toEqual([
      [500, 3],
      [500, 2],
      [500, 1],
    ]);
    const output = await readValid(OutputSchema, join(runDir, 'tasks', 'ask', 'output.json'));
    expect(output).toMatchObject({ value: GOOD_VALUE, model: 'anth:claude-test', usage: { calls: 1 } });
  });

  it('fails on 401 with an error naming the provider and ANTHROPIC_API_KEY, without the key', async () => {
    const fake = await startFakeLlm();
    fake.always({ kind: 'status', status: 401, message: `invalid x-api-key: ${KEY}` });
    const ws = await llmWorkspace(fake, { model: 'anth:claude-test' });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode).toBe(1);
    // 401 is not retried.
    expect(fake.requests).toHaveLength(1);

    const runDir = await onlyRun(ws, 'current');
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask?.error).toMatchObject({ reason: 'provider-failed', stage: 'inference' });
    const message = status.tasks.ask?.error?.message ?? '';
    expect(message).toContain('provider "anth" rejected the API key (HTTP 401)');
    expect(message).toContain('set a valid key in ANTHROPIC_API_KEY');
    expect(message).toContain('invalid x-api-key: [redacted:ANTHROPIC_API_KEY]');
    expect(JSON.stringify(status)).not.toContain(KEY);
    expect(result.stdout + result.stderr).not.toContain(KEY);
  });
});
