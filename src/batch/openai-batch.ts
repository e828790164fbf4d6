import type OpenAI from 'openai';
import { APIError, toFile } from 'openai';
import { asChatCompletion, chatCompletionBody, completionOf, openaiClient } from '../gateway/openai.js';
import { readKey } from '../gateway/sdk-common.js';
import { redactText } from '../secrets/known-secrets.js';
import { type BatchApi, type BatchRequest, type BatchResult, type BatchStatus, BatchRejectedError, BatchUnsupportedError } from './batch-api.js';
import { type BatchSetup, FIND_SLACK_MS, jsonLines, REJECTED_STATUSES, UNSUPPORTED_STATUSES } from './batch-setup.js';

const ENDPOINT = '/v1/chat/completions';

/** One line of a batch's output or error file. */
interface OutputLine {
  custom_id?: string;
  response?: { status_code?: number; body?: unknown } | null;
  error?: { code?: string | null; message?: string | null } | null;
}

/**
 * OpenAI's Batch API (Files + Batches): the requests go up as a JSONL file whose lines carry the
 * same body a real-time call sends, and come back as an output file and an error file.
 */
export class OpenAIBatchApi implements BatchApi {
  private readonly client: OpenAI;

  constructor(private readonly setup: BatchSetup) {
    const providerSetup = { ...setup, model: 'batch' };
    this.client = openaiClient(providerSetup, readKey(providerSetup));
  }

  async create(key: string, requests: BatchRequest[]): Promise<string> {
    const jsonl = requests
      .map((request) => JSON.stringify({ custom_id: request.customId, method: 'POST', url: ENDPOINT, body: chatCompletionBody(request) }))
      .join('\n');
    const file = await this.unlessUnsupported('POST /files', async () =>
      this.client.files.create({ file: await toFile(Buffer.from(`${jsonl}\n`), `${key}.jsonl`), purpose: 'batch' }),
    );
    const batch = await this.unlessUnsupported('POST /batches', () =>
      this.client.batches.create({ input_file_id: file.id, endpoint: ENDPOINT, completion_window: '24h', metadata: { pop_submission: key } }),
    );
    return batch.id;
  }

  async find(key: string, _customIds: string[], createdAfter: Date): Promise<string | undefined> {
    const since = createdAfter.getTime() - FIND_SLACK_MS;
    // Newest first: stop at the first batch older than the submission.
    for await (const batch of this.client.batches.list({ limit: 100 })) {
      if (batch.created_at * 1000 < since) return undefined;
      if (batch.metadata?.pop_submission === key) return batch.id;
    }
    return undefined;
  }

  async status(batchId: string): Promise<BatchStatus> {
    const batch = await this.client.batches.retrieve(batchId);
    const total = batch.request_counts?.total ?? 0;
    const succeeded = batch.request_counts?.completed ?? 0;
    const failed = batch.request_counts?.failed ?? 0;
    const counts = { total, succeeded, failed, processing: Math.max(0, total - succeeded - failed) };
    switch (batch.status) {
      case 'completed':
      case 'expired':
      case 'cancelled':
        return { state: 'ended', counts };
      case 'failed': {
        const words = (batch.errors?.data ?? []).map((error) => error.message).filter(Boolean);
        return { state: 'failed', counts, message: redactText(words.join('; ') || 'the batch failed validation') };
      }
      default:
        return { state: 'open', counts };
    }
  }

  async *results(batchId: string, customIds: string[]): AsyncIterable<BatchResult> {
    const batch = await this.client.batches.retrieve(batchId);
    const answered = new Set<string>();
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      const text = await (await this.client.files.content(fileId)).text();
      for (const line of jsonLines(text) as OutputLine[]) {
        const customId = line.custom_id;
        if (!customId || answered.has(customId)) continue;
        answered.add(customId);
        yield resultOf(customId, line);
      }
    }
    for (const customId of customIds) {
      if (!answered.has(customId)) yield { customId, ok: false, reason: 'expired', message: `the batch ended (${batch.status}) without answering the request` };
    }
  }

  async cancel(batchId: string): Promise<void> {
    await this.client.batches.cancel(batchId);
  }

  /** `call`, with a "no such route" answer turned into BatchUnsupportedError. */
  private async unlessUnsupported<T>(route: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof APIError && typeof error.status === 'number' && UNSUPPORTED_STATUSES.has(error.status)) {
        throw new BatchUnsupportedError(`provider "${this.setup.name}" at ${this.client.baseURL} has no Batch API: ${route} answered ${error.status}`);
      }
      if (error instanceof APIError && typeof error.status === 'number' && REJECTED_STATUSES.has(error.status))
        throw new BatchRejectedError(redactText(`${route} answered ${error.status}: ${error.message}`));
      throw error;
    }
  }
}

/** One output or error line as a result: a 200 with a chat completion is an answer; anything else says why not. */
function resultOf(customId: string, line: OutputLine): BatchResult {
  const status = line.response?.status_code;
  const completion = status === 200 ? asChatCompletion(line.response?.body) : undefined;
  if (completion) return { customId, ok: true, completion: completionOf(completion, '') };
  const code = line.error?.code;
  const reason = code === 'batch_expired' ? 'expired' : code === 'batch_cancelled' ? 'cancelled' : 'errored';
  const bodyError = (line.response?.body as { error?: { message?: string } } | undefined)?.error?.message;
  const message = line.error?.message ?? bodyError ?? `the request was answered ${status ?? 'without a response'}`;
  return { customId, ok: false, reason, message: redactText(message) };
}
