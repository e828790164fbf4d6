/**
 * The providers' Batch APIs through the official SDKs against a local server speaking their wire
 * formats, and the mock's simulated one on disk: create, find by key, status, results, cancel.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type BatchApi, type BatchRequest, type BatchResult, BatchUnsupportedError } from '../src/batch/batch-api.js';
import { batchApiFor } from '../src/batch/batch-api-for.js';
import { AnthropicProvider } from '../src/gateway/anthropic.js';
import { MockProvider } from '../src/gateway/mock.js';
import { OpenAIProvider } from '../src/gateway/openai.js';
import type { TypedProviderConfig } from '../src/gateway/types.js';
import { silentLogger } from '../src/util/logger.js';
import { DEFAULT_ANSWER, type FakeBatchOptions, type FakeBatchServer, startFakeBatchServer } from './support/fake-batch-server.js';

const env = { ANTHROPIC_API_KEY: 'sk-ant-test-batch-api' };
const SCHEMA = { type: 'object', properties: { answer: { type: 'string' }, confidence: { type: 'number' } }, required: ['answer', 'confidence'] };
const USAGE = { input: 20, output: 5, cached: 8 };
/** Long enough that a batch is still open when the test first looks. */
const DELAY_MS = 1500;

const requestsFor = (ids: string[], model = 'test-model'): BatchRequest[] =>
  ids.map((customId, index) => ({
    customId,
    model,
    messages: [
      { role: 'system', content: 'Answer briefly, as JSON.' },
      { role: 'user', content: `Why is the sea salty? (${index}) Rivers carry minerals. The sun evaporates water. Salt stays behind.` },
    ],
    schema: SCHEMA,
    schemaName: 'ask output',
    call: 1,
  }));

async function collect(results: AsyncIterable<BatchResult>): Promise<Map<string, BatchResult>> {
  const byId = new Map<string, BatchResult>();
  for await (const result of results) byId.set(result.customId, result);
  return byId;
}

async function untilDone(api: BatchApi, batchId: string) {
  for (;;) {
    const status = await api.status(batchId);
    if (status.state !== 'open') return status;
    await sleep(50);
  }
}

type RealApi = 'openai' | 'anthropic';

async function apiOn(type: RealApi, fake: FakeBatchServer): Promise<{ api: BatchApi; config: TypedProviderConfig }> {
  const config: TypedProviderConfig =
    type === 'openai' ? { type, baseURL: fake.openaiBaseURL, maxRetries: 0 } : { type, baseURL: fake.anthropicBaseURL, maxRetries: 0 };
  return { api: await batchApiFor({ name: 'prov', config, env, mockDir: '/nonexistent', log: silentLogger }), config };
}

async function serverFor(type: RealApi, options: FakeBatchOptions) {
  const fake = await startFakeBatchServer(options);
  return { fake, ...(await apiOn(type, fake)) };
}

describe.each<RealApi>(['openai', 'anthropic'])('%s Batch API', (type) => {
  it('sends each request with the body of a real-time call, finds the batch by its key, and reads answers with usage, expired and errored requests', async () => {
    const { fake, api, config } = await serverFor(type, {
      delayMs: DELAY_MS,
      usage: USAGE,
      expire: (id) => id === 'req-b',
      errorLine: (id) => (id === 'req-c' ? 'the prompt is too long' : undefined),
    });
    const requests = requestsFor(['req-a', 'req-b', 'req-c']);
    const before = new Date();
    const batchId = await api.create('sub-1', requests);
    // Batches of other submissions, made later: finding ours pages past them.
    await api.create('sub-2', requestsFor(['other-1']));
    await api.create('sub-3', requestsFor(['other-2']));

    const setup = { name: 'prov', model: 'test-model', config, env, log: silentLogger };
    const provider = type === 'openai' ? new OpenAIProvider(setup) : new AnthropicProvider(setup);
    const [first] = requests as [BatchRequest];
    await provider.complete({ ...first, signal: new AbortController().signal });
    expect(fake.batches[0]?.requests.map((request) => request.customId)).toEqual(['req-a', 'req-b', 'req-c']);
    expect(fake.batches[0]?.requests[0]?.body).toEqual(fake.realtimeRequests[0]?.body);

    const open = await api.status(batchId);
    expect(open).toMatchObject({ state: 'open', counts: { total: 3, succeeded: 0, failed: 0, processing: 3 } });
    expect(await api.find('sub-1', ['req-a', 'req-b', 'req-c'], before)).toBe(batchId);

    expect(await untilDone(api, batchId)).toMatchObject({ state: 'ended', counts: { total: 3, succeeded: 1, failed: 2, processing: 0 } });
    expect(await api.find('sub-1', ['req-a', 'req-b', 'req-c'], before)).toBe(batchId);
    expect(await api.find('sub-9', ['req-x'], before)).toBeUndefined();

    // req-d was never part of the batch: no line answers it, so it comes back expired.
    const results = await collect(api.results(batchId, ['req-a', 'req-b', 'req-c', 'req-d']));
    expect(results.get('req-a')).toEqual({
      customId: 'req-a',
      ok: true,
      completion: {
        text: DEFAULT_ANSWER,
        model: 'test-model',
        usage: { inputTokens: 20, outputTokens: 5, cachedInputTokens: 8 },
        latencyMs: 0,
        finishReason: type === 'openai' ? 'stop' : 'end_turn',
      },
    });
    expect(results.get('req-b')).toMatchObject({ ok: false, reason: 'expired' });
    expect(results.get('req-c')).toMatchObject({ ok: false, reason: 'errored', message: 'the prompt is too long' });
    expect(results.get('req-d')).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('cancels an open batch: it ends, its requests cancelled', async () => {
    const { fake, api } = await serverFor(type, { delayMs: 60_000 });
    const batchId = await api.create('sub-1', requestsFor(['req-a', 'req-b']));
    await api.cancel(batchId);
    expect(fake.batches[0]?.cancelled).toBe(true);
    expect((await untilDone(api, batchId)).state).toBe('ended');
    const results = await collect(api.results(batchId, ['req-a', 'req-b']));
    expect([...results.values()].map((result) => !result.ok && result.reason)).toEqual(['cancelled', 'cancelled']);
  });

  it('a server without a Batch API is BatchUnsupportedError naming the provider and its URL', async () => {
    const { fake, api } = await serverFor(type, { noBatchApi: true });
    const error = await api.create('sub-1', requestsFor(['req-a'])).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BatchUnsupportedError);
    expect((error as Error).message).toContain('"prov"');
    expect((error as Error).message).toContain(type === 'openai' ? fake.openaiBaseURL : fake.anthropicBaseURL);
    expect((error as Error).message).toContain('404');
  });

  it('a batch the provider refuses says why', async () => {
    const { api } = await serverFor(type, { failBatch: 'line 1: model not found' });
    if (type === 'openai') {
      const batchId = await api.create('sub-1', requestsFor(['req-a']));
      expect(await untilDone(api, batchId)).toMatchObject({ state: 'failed', message: 'line 1: model not found' });
    } else {
      // Anthropic validates a batch as it takes it.
      const error = await api.create('sub-1', requestsFor(['req-a'])).catch((caught: unknown) => caught);
      expect(error).not.toBeInstanceOf(BatchUnsupportedError);
      expect((error as Error).message).toContain('line 1: model not found');
    }
  });
});

describe('mock Batch API', () => {
  const mockApi = (mockDir: string, batchDelayMs: number) =>
    batchApiFor({ name: 'mock', config: { type: 'mock', batchDelayMs }, env: {}, mockDir, log: silentLogger });

  it('keeps its batches on disk, so a new instance finds and answers them as a real-time call of the mock does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pop-mock-batch-'));
    const requests = requestsFor(['req-a', 'req-b'], 'fast');
    const before = new Date();
    const batchId = await (await mockApi(dir, DELAY_MS)).create('sub-1', requests);
    expect(batchId).toMatch(/^mockbatch_/);
    expect(await (await mockApi(dir, DELAY_MS)).status(batchId)).toMatchObject({ state: 'open', counts: { total: 2, processing: 2 } });

    const restarted = await mockApi(dir, DELAY_MS);
    expect(await restarted.find('sub-1', ['req-a', 'req-b'], before)).toBe(batchId);
    expect(await restarted.find('sub-2', ['req-a'], before)).toBeUndefined();
    expect(await untilDone(restarted, batchId)).toMatchObject({ state: 'ended', counts: { total: 2, succeeded: 2 } });
    const results = await collect(restarted.results(batchId, ['req-a', 'req-b']));
    for (const request of requests) {
      const realtime = await new MockProvider().complete({ ...request, spec: 'mock:fast', signal: new AbortController().signal });
      expect(results.get(request.customId)).toEqual({ customId: request.customId, ok: true, completion: realtime });
    }
  });

  it('cancels an open batch: its requests come back cancelled', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pop-mock-batch-'));
    const api = await mockApi(dir, 60_000);
    const batchId = await api.create('sub-1', requestsFor(['req-a']));
    await api.cancel(batchId);
    expect((await api.status(batchId)).state).toBe('ended');
    expect([...(await collect((await mockApi(dir, 60_000)).results(batchId, ['req-a']))).values()]).toEqual([
      { customId: 'req-a', ok: false, reason: 'cancelled', message: expect.any(String) },
    ]);
  });
});
