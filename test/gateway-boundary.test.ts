/**
 * The gateway as a trust boundary: a task is served only the models its pipeline makes available
 * to it, whatever route it asks by; spending limits hold by the ledger; nothing it is handed or
 * writes holds a key; the call cache keys on the address the SDK really uses.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerOf } from './support/ledger.js';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import {
  filesUnder,
  fromRequest,
  GOOD_VALUE,
  JSON_TASK,
  jsonReply,
  llmWorkspace,
  onlyRun,
  popEnv,
  runPopWithEnv,
  startFakeLlm,
} from './support/fake-llm-server.js';
import { makeWorkspace, readRunRecords, readValid, registryModule } from './support/workspace.js';

/** Asks for a model its pipeline never names, through ctx.callModel and as raw lines on its channel. */
const GREEDY_TASK = `import { writeSync } from 'node:fs';
import { defineTask } from 'pop';
export default defineTask({
  prompt: ({ seed }) => String(seed.q),
  infer: async (messages, ctx) => {
    for (let id = 1000; id < 1200; id++) {
      writeSync(3, JSON.stringify({ type: 'call', id, models: ['openai:gpt-4o'], messages, schemaName: 'x', call: 1 }) + '\\n');
    }
    let refused = '';
    try {
      await ctx.callModel(messages, { model: 'openai:gpt-4o' });
    } catch (error) {
      refused = error.message;
    }
    const own = await ctx.callModel(messages);
    return { ...own, text: refused ? 'refused: ' + refused : 'served' };
  },
});
`;

describe('a task asks, the manager decides', () => {
  it('serves a task only the models its pipeline declares: a mock-only pipeline spends no OpenAI key, by either route', async () => {
    const fake = await startFakeLlm();
    fake.always(jsonReply(GOOD_VALUE));
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'mock-only', tasks: [{ name: 'greedy', model: 'mock:default' }] },
      'pipeline-tasks/index.js': registryModule(['greedy']),
      'pipeline-tasks/greedy.js': GREEDY_TASK,
      'pipeline-pending/q.json': { q: 'Why is the sea salty? It is a question people ask.' },
    });
    const env = popEnv({ OPENAI_API_KEY: 'sk-test-never-spent-0000000000', OPENAI_BASE_URL: fake.openaiBaseURL });
    const result = await runPopWithEnv(ws, ['start', '--once'], env);
    expect(result.exitCode, result.stderr).toBe(0);
    await new Promise((done) => setTimeout(done, 300));
    expect(fake.requests).toHaveLength(0);

    const runDir = await onlyRun(ws, 'complete');
    const output = JSON.parse(await readFile(join(runDir, 'tasks', 'greedy', 'output.json'), 'utf8'));
    expect(output.value).toMatch(/^refused: openai:gpt-4o: model "openai:gpt-4o" is not available to this task/);
    const lines = await ledgerOf(runDir, 'greedy');
    const refused = lines.filter((line) => line.reason === 'model-not-allowed');
    expect(refused.length).toBe(201);
    expect(refused.every((line) => line.outcome === 'failed' && line.model === 'openai:gpt-4o')).toBe(true);
    expect(lines.filter((line) => line.outcome === 'answered').map((line) => line.model)).toEqual(['mock:default']);
    const log = await readFile(join(runDir, 'tasks', 'greedy', 'task.log'), 'utf8');
    expect(log).toContain('"reason":"model-not-allowed"');
    const [record] = await readRunRecords(ws);
    expect(record?.totals).toMatchObject({ calls: 1, failedCalls: 201 });
  });

  it('maxCalls bounds the calls of one attempt: the rest are refused with max-calls and recorded', async () => {
    const CHATTY = `import { defineTask } from 'pop';
export default defineTask({
  prompt: ({ seed }) => String(seed.q),
  infer: async (messages, ctx) => {
    const refused = [];
    for (let i = 0; i < 5; i++) await ctx.callModel(messages).catch((error) => refused.push(error.message));
    const last = await ctx.callModel(messages).catch((error) => ({ text: 'refused: ' + error.message, model: null, usage: { inputTokens: 0, outputTokens: 0 } }));
    return { ...last, text: refused.length + ' refused; ' + last.text };
  },
});
`;
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'chatty', tasks: [{ name: 'chatty', model: 'mock:default', maxCalls: 3 }] },
      'pipeline-tasks/index.js': registryModule(['chatty']),
      'pipeline-tasks/chatty.js': CHATTY,
      'pipeline-pending/q.json': { q: 'A question. It has two sentences.' },
    });
    const result = await runPopWithEnv(ws, ['start', '--once'], popEnv());
    expect(result.exitCode, result.stderr).toBe(0);
    const runDir = await onlyRun(ws, 'complete');
    const output = JSON.parse(await readFile(join(runDir, 'tasks', 'chatty', 'output.json'), 'utf8'));
    expect(output.value).toMatch(/^2 refused; refused: mock:default: the task attempt has made 3 model calls, as many as its maxCalls allows/);
    const lines = await ledgerOf(runDir, 'chatty');
    expect(lines.map((line) => line.reason ?? line.outcome)).toEqual(['answered', 'answered', 'answered', 'max-calls', 'max-calls', 'max-calls']);
  });

  it('a run stops calling at its maxCostUsd: its ledger ends within one call of the cap', async () => {
    const fake = await startFakeLlm();
    fake.always(jsonReply(GOOD_VALUE, { input: 10, output: 10 }));
    const FAN = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ answer: z.string(), confidence: z.number() }),
  each: () => Array.from({ length: 10 }, (_, i) => i),
  prompt: (i) => 'question ' + i,
});
`;
    const ws = await makeWorkspace({
      'pipeline.json': {
        name: 'capped',
        tasks: [{ name: 'fan', model: 'oai:gpt-test', concurrency: 1 }],
        providers: { oai: { type: 'openai', baseURL: fake.openaiBaseURL, maxRetries: 0 } },
        // Each call: 20 tokens at $1 per thousand = $0.02.
        prices: { 'oai:gpt-test': { inputPerMillion: 1000, outputPerMillion: 1000 } },
        maxCostUsd: 0.05,
      },
      'pipeline-tasks/index.js': registryModule(['fan']),
      'pipeline-tasks/fan.js': FAN,
      'pipeline-pending/q.json': { q: 'x' },
    });
    const result = await runPopWithEnv(ws, ['start', '--once'], popEnv());
    expect(result.exitCode).toBe(1);
    expect(fake.requests).toHaveLength(3);
    const runDir = await onlyRun(ws, 'current');
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.fan?.error?.reason).toBe('budget-exceeded');
    expect(status.tasks.fan?.error?.message).toMatch(/maxCostUsd \$0\.05/);
    const spent = status.tasks.fan?.costUsd ?? 0;
    expect(spent).toBeGreaterThanOrEqual(0.05);
    expect(spent - 0.05).toBeLessThan(0.02);
    expect((await ledgerOf(runDir, 'fan')).at(-1)).toMatchObject({ outcome: 'failed', reason: 'budget-exceeded' });
  });

  it('no key reaches a task or its files: not from an echoing server (model name, finish reason, errors), not quoted in the seed', async () => {
    const key = `sk-proj-${randomBytes(20).toString('hex')}`;
    const fake = await startFakeLlm();
    fake.always(
      fromRequest((request) => {
        const sent = String(request.headers.authorization ?? '');
        return { kind: 'reply', text: JSON.stringify(GOOD_VALUE), served: { model: `echo ${sent}`, finishReason: `stop ${sent}` } };
      }),
    );
    // The task also reads a key from a file, which it cannot know for one, and writes it out.
    const module = `import { readFileSync } from 'node:fs';
${JSON_TASK.replace('user: String(seed.q) }),', "user: String(seed.q) + ' ' + String(seed.note) }),\n  finalize: async (value, ctx) => { const found = readFileSync(new URL('../found.txt', import.meta.url), 'utf8'); await ctx.writeArtifact('notes.md', found); ctx.log.info({ found }, 'found'); return { ...value, answer: found }; },")}`;
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-echo', module });
    await writeFile(ws.path('found.txt'), `a key lying around: ${key}`);
    await writeFile(ws.path('pipeline-pending', 'q.json'), JSON.stringify({ q: 'Why?', note: `my key is ${key}` }));
    const result = await runPopWithEnv(ws, ['start', '--once'], popEnv({ OPENAI_API_KEY: key }));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${key}`);
    // The seed's copy in the run has the key taken out: not even the provider is sent it.
    expect(JSON.stringify(fake.requests[0]?.body)).toContain('my key is [redacted:OPENAI_API_KEY]');
    const runDir = await onlyRun(ws, 'complete');
    const files = await filesUnder(runDir);
    const leaking = files.filter((file) => file.text.includes(key.slice(8, 28)) || file.text.includes(key.slice(-16)));
    expect(leaking.map((file) => file.path)).toEqual([]);
    const log = await readFile(join(runDir, 'tasks', 'ask', 'task.log'), 'utf8');
    expect(log).toContain('[redacted:OPENAI_API_KEY]');
    expect(await readFile(join(runDir, 'tasks', 'ask', 'notes.md'), 'utf8')).toBe('a key lying around: [redacted:OPENAI_API_KEY]');
    expect(JSON.parse(await readFile(join(runDir, 'tasks', 'ask', 'output.json'), 'utf8')).value.answer).toBe('a key lying around: [redacted:OPENAI_API_KEY]');
  });

  it('the call cache keys on the address the SDK really uses, OPENAI_BASE_URL included', async () => {
    const first = await startFakeLlm();
    const second = await startFakeLlm();
    first.always(jsonReply(GOOD_VALUE));
    second.always(jsonReply(GOOD_VALUE));
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'env-address', tasks: [{ name: 'ask', model: 'openai:gpt-test', cache: true }] },
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': JSON_TASK,
      'pipeline-pending/q.json': { q: 'Why is the sea salty?' },
    });
    const envFor = (url: string) => popEnv({ OPENAI_API_KEY: 'sk-test-address-000000000', OPENAI_BASE_URL: url });
    expect((await runPopWithEnv(ws, ['start', '--once'], envFor(first.openaiBaseURL))).exitCode).toBe(0);
    expect(first.requests).toHaveLength(1);
    await writeFile(ws.path('pipeline-pending', 'again.json'), JSON.stringify({ q: 'Why is the sea salty?' }));
    expect((await runPopWithEnv(ws, ['start', '--once'], envFor(second.openaiBaseURL))).exitCode).toBe(0);
    expect(second.requests).toHaveLength(1);
    await writeFile(ws.path('pipeline-pending', 'third.json'), JSON.stringify({ q: 'Why is the sea salty?' }));
    expect((await runPopWithEnv(ws, ['start', '--once'], envFor(second.openaiBaseURL))).exitCode).toBe(0);
    expect(second.requests).toHaveLength(1);
  });
});
