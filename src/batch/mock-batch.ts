import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { customAlphabet } from 'nanoid';
import { z } from 'zod';
import { MockBehaviourSchema } from '../formats/pipeline.js';
import { writeJsonAtomic } from '../fs/atomic-write.js';
import { MockProvider } from '../gateway/mock.js';
import { ProviderError } from '../gateway/types.js';
import type { BatchApi, BatchRequest, BatchResult, BatchStatus } from './batch-api.js';

/** How long the mock's batches take when pipeline.json sets no `batchDelayMs`. */
export const DEFAULT_MOCK_BATCH_DELAY_MS = 5000;

const batchSuffix = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 16);

const MockBatchSchema = z.object({
  id: z.string(),
  key: z.string(),
  createdAt: z.string(),
  readyAt: z.string(),
  cancelled: z.boolean(),
  requests: z.array(
    z.object({
      customId: z.string(),
      model: z.string(),
      messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() })),
      schema: z.record(z.string(), z.unknown()).optional(),
      schemaName: z.string(),
      mock: MockBehaviourSchema.optional(),
      call: z.number(),
    }),
  ),
});
type MockBatch = z.infer<typeof MockBatchSchema>;

/**
 * The mock provider's Batch API: a batch is a file in `dir`, so it outlives a restart of the
 * manager, and ends `delayMs` after it was made; each request is answered as a real-time call of
 * the mock answers it.
 */
export class MockBatchApi implements BatchApi {
  constructor(
    private readonly name: string,
    private readonly dir: string,
    private readonly delayMs = DEFAULT_MOCK_BATCH_DELAY_MS,
  ) {}

  async create(key: string, requests: BatchRequest[]): Promise<string> {
    const id = `mockbatch_${batchSuffix()}`;
    const now = Date.now();
    const batch: MockBatch = {
      id,
      key,
      createdAt: new Date(now).toISOString(),
      readyAt: new Date(now + this.delayMs).toISOString(),
      cancelled: false,
      requests: requests.map((request) => ({ ...request, schema: request.schema ?? undefined, mock: request.mock ?? undefined })),
    };
    await mkdir(this.dir, { recursive: true });
    await writeJsonAtomic(this.pathOf(id), batch);
    return id;
  }

  async find(key: string): Promise<string | undefined> {
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    for (const name of names.filter((entry) => /^mockbatch_\w+\.json$/.test(entry))) {
      const batch = await this.read(name.slice(0, -'.json'.length));
      if (batch.key === key) return batch.id;
    }
    return undefined;
  }

  async status(batchId: string): Promise<BatchStatus> {
    const batch = await this.read(batchId);
    const total = batch.requests.length;
    if (batch.cancelled) return { state: 'ended', counts: { total, succeeded: 0, failed: total, processing: 0 } };
    if (Date.now() < Date.parse(batch.readyAt)) return { state: 'open', counts: { total, succeeded: 0, failed: 0, processing: total } };
    return { state: 'ended', counts: { total, succeeded: total, failed: 0, processing: 0 } };
  }

  async *results(batchId: string): AsyncIterable<BatchResult> {
    const batch = await this.read(batchId);
    const mock = new MockProvider();
    const never = new AbortController().signal;
    for (const request of batch.requests) {
      const customId = request.customId;
      if (batch.cancelled) {
        yield { customId, ok: false, reason: 'cancelled', message: 'the batch was cancelled before answering the request' };
        continue;
      }
      try {
        yield { customId, ok: true, completion: await mock.complete({ ...request, spec: `${this.name}:${request.model}`, signal: never }) };
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        yield { customId, ok: false, reason: 'errored', message: error.message };
      }
    }
  }

  async cancel(batchId: string): Promise<void> {
    const batch = await this.read(batchId);
    // An ended batch has its answers; cancelling it changes nothing, as with the real APIs.
    if (batch.cancelled || Date.now() >= Date.parse(batch.readyAt)) return;
    await writeJsonAtomic(this.pathOf(batchId), { ...batch, cancelled: true });
  }

  private pathOf(batchId: string): string {
    return join(this.dir, `${batchId}.json`);
  }

  private async read(batchId: string): Promise<MockBatch> {
    const path = this.pathOf(batchId);
    try {
      return MockBatchSchema.parse(JSON.parse(await readFile(path, 'utf8')));
    } catch (error) {
      throw new Error(`mock batch ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
