/**
 * What the real-model providers do when things go wrong, through the real CLI and the official
 * SDKs against a local fake: fallbacks, replies that are not JSON or cut off, slow servers, bad or
 * missing keys, and keys that must never reach a file or a log line.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutputSchema } from '../src/formats/output.js';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import {
  GOOD_VALUE,
  cutJsonReply,
  filesUnder,
  jsonReply,
  llmWorkspace,
  logLines,
  notJson,
  onlyRun,
  popEnv,
  rateLimited,
  runPopWithEnv,
  serverError,
  slow,
  startFakeLlm,
  unauthorized,
} from './support/fake-llm-server.js';
import { listDir, makeWorkspace, pendingSeeds, readJson, readRunRecords, readValid, registryModule, runDirs, waitFor } from './support/workspace.js';

const KEY = 'sk-test-failures';
const env = () => popEnv({ OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: `${KEY}-ant` });

interface ResponseArtifact {
  model: string;
  text: string;
  skipped: Array<{ model: string; reason: string; message: string }>;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

describe('fallbacks', () => {
  it('falls back to the next model of an alias when the first keeps failing with 500 after its retries', async () => {
    const fake = await startFakeLlm();
    fake.always(serverError(10), 'gpt-broken');
    fake.queueFor('claude-test', jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, {
      model: 'smart',
      pipeline: { models: { smart: ['oai:gpt-broken', 'anth:claude-test'] } },
      providers: { oai: { maxRetries: 1 } },
    });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);
    // maxRetries 1: the first try and one retry, then the next model.
    expect(fake.requestsFor('gpt-broken')).toHaveLength(2);
    expect(fake.requestsFor('claude-test')).toHaveLength(1);

    const runDir = await onlyRun(ws, 'complete');
    const taskDir = join(runDir, 'tasks', 'ask');
    const response = (await readJson(join(taskDir, '04-response.json'))) as ResponseArtifact;
    expect(response.model).toBe('anth:claude-test');
    expect(response.skipped).toEqual([{ model: 'oai:gpt-broken', reason: 'server-error', message: expect.stringContaining('HTTP 500') }]);
    expect(response.skipped[0]?.message).toContain('provider "oai" had a server error (HTTP 500) on each of 2 tries');

    const output = await readValid(OutputSchema, join(taskDir, 'output.json'));
    expect(output).toMatchObject({ value: GOOD_VALUE, model: 'anth:claude-test', usage: { calls: 1 } });
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask).toMatchObject({ state: 'complete', model: 'anth:claude-test' });

    const log = await logLines(join(taskDir, 'task.log'));
    expect(log).toContainEqual(expect.objectContaining({ event: 'model-retry', model: 'oai:gpt-broken', status: 500, attemptsRemaining: 1 }));
    expect(log).toContainEqual(expect.objectContaining({ event: 'model-failed', model: 'oai:gpt-broken', reason: 'server-error', status: 500 }));
  });

  it("a task's own maxRetries overrides its provider's: no retry, straight to the next model", async () => {
    const fake = await startFakeLlm();
    fake.always(serverError(10), 'gpt-broken');
    fake.queueFor('claude-test', jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, {
      model: ['oai:gpt-broken', 'anth:claude-test'],
      task: { maxRetries: 0 },
      providers: { oai: { maxRetries: 3 } },
    });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.requestsFor('gpt-broken')).toHaveLength(1);
    expect(fake.requestsFor('claude-test')).toHaveLength(1);
    const letter = JSON.parse(await readFile(join(await onlyRun(ws, 'complete'), 'tasks', 'ask', 'letter.json'), 'utf8')) as { maxRetries?: number };
    expect(letter.maxRetries).toBe(0);
  });

  it('does not fall back on a 429 that outlasts the retries: the task fails naming the rate limit', async () => {
    const fake = await startFakeLlm();
    fake.always(rateLimited('0'), 'gpt-busy');
    fake.queueFor('claude-test', jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, {
      model: 'smart',
      pipeline: { models: { smart: ['oai:gpt-busy', 'anth:claude-test'] } },
      providers: { oai: { maxRetries: 1 } },
    });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(1);
    expect(fake.requestsFor('gpt-busy')).toHaveLength(2);
    expect(fake.requestsFor('claude-test')).toHaveLength(0);
    const runDir = await onlyRun(ws, 'current');
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.state).toBe('failed');
    expect(status.tasks.ask?.error).toMatchObject({ reason: 'provider-failed', stage: 'inference' });
    expect(status.tasks.ask?.error?.issues).toEqual([expect.stringMatching(/^oai:gpt-busy: rate-limited: /)]);
  });

  it('skips a model whose reply body is not JSON (bad-response) and one that cannot be reached (connection)', async () => {
    const fake = await startFakeLlm();
    fake.queueFor('gpt-proxy', notJson());
    fake.queueFor('gpt-html', notJson('<html>Service Unavailable</html>', 'text/html'));
    fake.queueFor('gpt-good', jsonReply(GOOD_VALUE));
    const port = await closedPort();
    const ws = await llmWorkspace(fake, {
      model: ['oai:gpt-proxy', 'oai:gpt-html', 'down:gpt-any', 'oai:gpt-good'],
      extraProviders: { down: { type: 'openai', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 } },
    });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);
    // A 200 that is not a valid reply is not retried.
    expect(fake.requestsFor('gpt-proxy')).toHaveLength(1);
    expect(fake.requestsFor('gpt-html')).toHaveLength(1);

    const runDir = await onlyRun(ws, 'complete');
    const response = (await readJson(join(runDir, 'tasks', 'ask', '04-response.json'))) as ResponseArtifact;
    expect(response.model).toBe('oai:gpt-good');
    expect(response.skipped.map(({ model, reason }) => ({ model, reason }))).toEqual([
      { model: 'oai:gpt-proxy', reason: 'bad-response' },
      { model: 'oai:gpt-html', reason: 'bad-response' },
      { model: 'down:gpt-any', reason: 'connection' },
    ]);
    expect(response.skipped[0]?.message).toMatch(/provider "oai" sent a reply that is not a valid response: .*JSON/);
    expect(response.skipped[1]?.message).toContain('Service Unavailable');
    expect(response.skipped[2]?.message).toMatch(/provider "down" could not be reached at http:\/\/127\.0\.0\.1:\d+\/v1 on its only try: .*ECONNREFUSED/);
  });

  it('uses the other model when one model of the list has no key (missing-key), with a warning at start', async () => {
    const fake = await startFakeLlm();
    fake.queue(jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: ['anthropic:claude-needs-key', 'oai:gpt-test'] });

    const result = await runPopWithEnv(ws, ['start', '--once'], popEnv({ OPENAI_API_KEY: KEY }));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.requests).toHaveLength(1);

    const runDir = await onlyRun(ws, 'complete');
    const response = (await readJson(join(runDir, 'tasks', 'ask', '04-response.json'))) as ResponseArtifact;
    expect(response.model).toBe('oai:gpt-test');
    expect(response.skipped).toEqual([
      { model: 'anthropic:claude-needs-key', reason: 'missing-key', message: expect.stringContaining('set ANTHROPIC_API_KEY') },
    ]);
  });
});

describe('replies that do not parse, and slow servers', () => {
  it('sends a reply cut off mid-JSON back through refinement; the second reply completes the task', async () => {
    const fake = await startFakeLlm();
    fake.queue(cutJsonReply(GOOD_VALUE), jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-test', task: { maxRefinements: 2 } });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.requests).toHaveLength(2);

    const runDir = await onlyRun(ws, 'complete');
    const taskDir = join(runDir, 'tasks', 'ask');
    const first = (await readJson(join(taskDir, '04-response.json'))) as ResponseArtifact;
    expect(() => JSON.parse(first.text)).toThrow();
    expect(await readJson(join(taskDir, '05-parsed.json'))).toMatchObject({ ok: false });
    expect(await readJson(join(taskDir, '06-validation.json'))).toMatchObject({ ok: false, issues: [expect.objectContaining({ kind: 'parse' })] });
    const critique = (await readJson(join(taskDir, '07-critique.json'))) as { feedback: string };

    // The second call: the same schema asked for, the conversation grown by the bad reply and the feedback.
    const second = fake.requests[1]!.body;
    expect(second.response_format?.type).toBe('json_schema');
    expect(second.messages).toEqual([
      ...fake.requests[0]!.body.messages,
      { role: 'assistant', content: first.text },
      { role: 'user', content: critique.feedback },
    ]);

    expect(await readJson(join(taskDir, '04-response.2.json'))).toMatchObject({ text: JSON.stringify(GOOD_VALUE) });
    const output = await readValid(OutputSchema, join(taskDir, 'output.json'));
    expect(output).toMatchObject({ value: GOOD_VALUE, refinements: 1, usage: { inputTokens: 22, outputTokens: 14, calls: 2 } });
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask).toMatchObject({ state: 'complete', refinements: 1, usage: { calls: 2 } });
    expect((await readRunRecords(ws))[0]?.totals).toMatchObject({ calls: 2, inputTokens: 22, outputTokens: 14 });
  });

  it("aborts the in-flight call of a task that runs past its timeoutMs, and fails the run cleanly with reason 'timeout'", async () => {
    const fake = await startFakeLlm();
    fake.always(slow(30_000, jsonReply(GOOD_VALUE)));
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-slow', task: { timeoutMs: 1500 } });

    const started = Date.now();
    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.stderr).toContain('0 run(s) complete, 1 failed');

    // The runner aborted the SDK's request: the server saw the client hang up.
    expect(fake.requests).toHaveLength(1);
    await waitFor(() => fake.requests[0]?.abandoned, { timeoutMs: 5000, description: 'the slow request to be abandoned' });

    const runDir = await onlyRun(ws, 'current');
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.state).toBe('failed');
    expect(status.tasks.ask).toMatchObject({ state: 'failed', attempts: 1 });
    expect(status.tasks.ask?.error).toMatchObject({ reason: 'timeout', message: expect.stringContaining('1500 ms') });
    expect(result.events).toContainEqual(expect.objectContaining({ event: 'run-failed', task: 'ask', reason: 'timeout' }));

    const taskDir = join(runDir, 'tasks', 'ask');
    expect(await listDir(taskDir)).not.toContain('output.json');
    const log = await logLines(join(taskDir, 'task.log'));
    expect(log).toContainEqual(expect.objectContaining({ event: 'model-failed', model: 'oai:gpt-slow', reason: 'aborted' }));
  });

  it("falls back when a provider's own timeoutMs passes on every try (reason 'timeout'), the retry in task.log", async () => {
    const fake = await startFakeLlm();
    fake.always(slow(10_000, jsonReply(GOOD_VALUE)), 'gpt-slow');
    fake.queueFor('claude-test', jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, {
      model: ['oai:gpt-slow', 'anth:claude-test'],
      providers: { oai: { timeoutMs: 400, maxRetries: 1 } },
    });

    const result = await runPopWithEnv(ws, ['start', '--once'], env());
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.requestsFor('gpt-slow')).toHaveLength(2);
    await waitFor(() => fake.requestsFor('gpt-slow').every((request) => request.abandoned), { timeoutMs: 5000, description: 'both slow requests abandoned' });

    const runDir = await onlyRun(ws, 'complete');
    const taskDir = join(runDir, 'tasks', 'ask');
    const response = (await readJson(join(taskDir, '04-response.json'))) as ResponseArtifact;
    expect(response.model).toBe('anth:claude-test');
    expect(response.skipped).toEqual([
      { model: 'oai:gpt-slow', reason: 'timeout', message: 'provider "oai" did not answer on each of 2 tries within its timeoutMs of 400 ms' },
    ]);
    const log = await logLines(join(taskDir, 'task.log'));
    expect(log).toContainEqual(expect.objectContaining({ event: 'model-retry', model: 'oai:gpt-slow', failure: 'timeout', attemptsRemaining: 1 }));
  });
});

describe('keys', () => {
  it('fails on 401 with an error naming the provider and the variable to set; the key echoed back is never printed', async () => {
    const key = `sk-test-${randomBytes(12).toString('hex')}`;
    const fake = await startFakeLlm();
    fake.always(unauthorized(`Incorrect API key provided: ${key}. You can find your API key at https://example.com.`));
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-test' });

    const result = await runPopWithEnv(ws, ['start', '--once'], popEnv({ OPENAI_API_KEY: key }));
    expect(result.exitCode).toBe(1);
    expect(result.stdout).not.toContain('internal error');
    // The key was sent (so it could have leaked), and 401 is not retried.
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${key}`);

    const runDir = await onlyRun(ws, 'current');
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    const error = status.tasks.ask?.error;
    expect(error).toMatchObject({ reason: 'provider-failed', stage: 'inference' });
    expect(error?.message).toContain('provider "oai" rejected the API key (HTTP 401): set a valid key in OPENAI_API_KEY');
    expect(error?.message).toContain('Incorrect API key provided: [redacted:OPENAI_API_KEY]');
    expect(error?.issues).toEqual([expect.stringMatching(/^oai:gpt-test: auth: provider "oai" rejected the API key/)]);
    expect(result.events).toContainEqual(
      expect.objectContaining({ event: 'task-failed', task: 'ask', reason: 'provider-failed', message: expect.stringContaining('OPENAI_API_KEY') }),
    );

    await expectKeyNowhere(key, runDir, result);
  });

  it('never writes the key to a run file, the run index or the manager output, even with the SDK log level at debug', async () => {
    const key = `sk-test-${randomBytes(12).toString('hex')}`;
    const fake = await startFakeLlm();
    // A retry and a fallback make the SDKs log; a refinement sends the key a third time.
    fake.queueFor('gpt-test', rateLimited('0'), cutJsonReply(GOOD_VALUE), jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-test', providers: { oai: { maxRetries: 2 } } });

    const result = await runPopWithEnv(ws, ['start', '--once'], popEnv({ OPENAI_API_KEY: key, OPENAI_LOG: 'debug', ANTHROPIC_LOG: 'debug' }));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.requests).toHaveLength(3);
    for (const request of fake.requests) expect(request.headers.authorization).toBe(`Bearer ${key}`);

    const runDir = await onlyRun(ws, 'complete');
    const taskLog = await logLines(join(runDir, 'tasks', 'ask', 'task.log'));
    expect(taskLog).toContainEqual(expect.objectContaining({ event: 'model-retry', status: 429 }));
    await expectKeyNowhere(key, runDir, result);
    await expectKeyNowhere(key, ws.complete, result);
  });

  it("reads a key from the workspace's .env file", async () => {
    const fake = await startFakeLlm();
    fake.queue(jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'anth:claude-test' });
    await writeFile(ws.path('.env'), `ANTHROPIC_API_KEY=${KEY}-from-dotenv\n`);

    const result = await runPopWithEnv(ws, ['start', '--once'], popEnv());
    expect(result.exitCode, result.stderr).toBe(0);
    const request = fake.requests[0]!;
    expect(request.headers['x-api-key'] ?? String(request.headers.authorization).replace(/^Bearer /, '')).toBe(`${KEY}-from-dotenv`);
    await expectKeyNowhere(`${KEY}-from-dotenv`, await onlyRun(ws, 'complete'), result);
  });

  it('refuses to start when no model of a task has its key: the variables named, exit 2 for start, validate lists it', async () => {
    const fake = await startFakeLlm();
    const ws = await makeWorkspace({
      'pipeline.json': {
        name: 'no-keys',
        tasks: [
          { name: 'ask', model: ['openai:gpt-4o-mini', 'anthropic:claude-test'] },
          { name: 'local', task: 'ask', model: 'oai:gpt-test' },
        ],
        providers: { oai: { type: 'openai', baseURL: fake.openaiBaseURL, apiKeyEnv: 'MY_LOCAL_KEY' } },
      },
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': `import { defineTask, z } from 'pop';\nexport default defineTask({ output: z.object({ a: z.string() }), prompt: () => 'hi' });\n`,
      'pipeline-pending/q.json': { q: 'x' },
    });

    const validate = await runPopWithEnv(ws, ['validate'], popEnv());
    expect(validate.exitCode).toBe(1);
    expect(validate.stdout).toContain('task "ask": openai:gpt-4o-mini needs OPENAI_API_KEY, anthropic:claude-test needs ANTHROPIC_API_KEY');
    expect(validate.stdout).toContain('task "local": oai:gpt-test needs MY_LOCAL_KEY');
    expect(validate.stdout + validate.stderr).not.toContain('internal error');

    const start = await runPopWithEnv(ws, ['start', '--once'], popEnv());
    expect(start.exitCode).toBe(2);
    expect(start.stderr).toContain('needs OPENAI_API_KEY');
    expect(start.stderr).toContain('needs ANTHROPIC_API_KEY');
    expect(start.stderr).toContain('needs MY_LOCAL_KEY');
    expect(start.stderr).toContain("set it in the environment or in the workspace's .env file");
    expect(start.stdout + start.stderr).not.toContain('internal error');
    // Nothing was claimed or called.
    expect(await pendingSeeds(ws)).toEqual(['q.json']);
    expect(await runDirs(ws.current)).toEqual([]);
    expect(fake.requests).toEqual([]);
  });
});

/** The key appears in no file under `dir` and not in the manager's output. */
async function expectKeyNowhere(key: string, dir: string, result: { stdout: string; stderr: string }): Promise<void> {
  const files = await filesUnder(dir);
  expect(files.length).toBeGreaterThan(0);
  expect(files.filter((file) => file.text.includes(key)).map((file) => file.path)).toEqual([]);
  expect(result.stdout).not.toContain(key);
  expect(result.stderr).not.toContain(key);
  // Nor a header that carried it.
  for (const file of files) expect(file.text).not.toMatch(/Bearer sk-|"x-api-key":\s*"sk-/);
}
