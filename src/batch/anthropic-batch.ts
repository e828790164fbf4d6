import type Anthropic from '@anthropic-ai/sdk';
import { APIError } from '@anthropic-ai/sdk';
import { anthropicClient, asMessage, completionOf, messagesBody } from '../gateway/anthropic.js';
import { readKey } from '../gateway/sdk-common.js';
import { redactText } from '../secrets/known-secrets.js';
import { type BatchApi, type BatchRequest, type BatchResult, type BatchStatus, BatchRejectedError, BatchUnsupportedError } from './batch-api.js';
import { type BatchSetup, FIND_SLACK_MS, REJECTED_STATUSES, UNSUPPORTED_STATUSES } from './batch-setup.js';

type MessageBatch = Anthropic.Messages.Batches.MessageBatch;

/** Anthropic's Message Batches: each request's `params` is the body a real-time call sends. */
export class AnthropicBatchApi implements BatchApi {
  private readonly client: Anthropic;

  constructor(private readonly setup: BatchSetup) {
    const providerSetup = { ...setup, model: 'batch' };
    this.client = anthropicClient(providerSetup, readKey(providerSetup));
  }

  async create(_key: string, requests: BatchRequest[]): Promise<string> {
    try {
      const batch = await this.client.messages.batches.create({
        requests: requests.map((request) => ({ custom_id: request.customId, params: messagesBody(request, this.setup) })),
      });
      return batch.id;
    } catch (error) {
      if (error instanceof APIError && typeof error.status === 'number' && UNSUPPORTED_STATUSES.has(error.status)) {
        throw new BatchUnsupportedError(
          `provider "${this.setup.name}" at ${this.client.baseURL} has no Batch API: POST /v1/messages/batches answered ${error.status}`,
        );
      }
      if (error instanceof APIError && typeof error.status === 'number' && REJECTED_STATUSES.has(error.status))
        throw new BatchRejectedError(redactText(error.apiMessage ?? error.message));
      throw error;
    }
  }

  /**
   * Anthropic's batches carry no metadata, so ours is recognised by its requests: an ended batch by
   * its results' custom ids (all of ours there). An open one has no results to read yet: one whose
   * request count equals ours is taken only when it is the only such one, since two would leave
   * the guess to chance (then none is found, and the submission is made again).
   */
  async find(_key: string, customIds: string[], createdAfter: Date): Promise<string | undefined> {
    const since = createdAfter.getTime() - FIND_SLACK_MS;
    const open: MessageBatch[] = [];
    // Newest first: stop at the first batch older than the submission.
    for await (const batch of this.client.messages.batches.list({ limit: 100 })) {
      if (Date.parse(batch.created_at) < since) break;
      if (batch.processing_status === 'ended') {
        if (await this.holdsAll(batch.id, customIds)) return batch.id;
      } else if (totalOf(batch) === customIds.length) {
        open.push(batch);
      }
    }
    return open.length === 1 ? open[0]?.id : undefined;
  }

  async status(batchId: string): Promise<BatchStatus> {
    const batch = await this.client.messages.batches.retrieve(batchId);
    const counts = batch.request_counts;
    return {
      state: batch.processing_status === 'ended' ? 'ended' : 'open',
      counts: {
        total: totalOf(batch),
        succeeded: counts.succeeded,
        failed: counts.errored + counts.expired + counts.canceled,
        processing: counts.processing,
      },
    };
  }

  async *results(batchId: string, customIds: string[]): AsyncIterable<BatchResult> {
    const answered = new Set<string>();
    for await (const line of await this.client.messages.batches.results(batchId)) {
      answered.add(line.custom_id);
      yield resultOf(line);
    }
    for (const customId of customIds) {
      if (!answered.has(customId)) yield { customId, ok: false, reason: 'expired', message: 'the batch ended without answering the request' };
    }
  }

  async cancel(batchId: string): Promise<void> {
    await this.client.messages.batches.cancel(batchId);
  }

  private async holdsAll(batchId: string, customIds: string[]): Promise<boolean> {
    const ids = new Set<string>();
    for await (const line of await this.client.messages.batches.results(batchId)) ids.add(line.custom_id);
    return customIds.every((id) => ids.has(id));
  }
}

function totalOf(batch: MessageBatch): number {
  const counts = batch.request_counts;
  return counts.processing + counts.succeeded + counts.errored + counts.expired + counts.canceled;
}

function resultOf(line: Anthropic.Messages.Batches.MessageBatchIndividualResponse): BatchResult {
  const customId = line.custom_id;
  const result = line.result;
  switch (result.type) {
    case 'succeeded': {
      const message = asMessage(result.message);
      if (message) return { customId, ok: true, completion: completionOf(message, '') };
      return { customId, ok: false, reason: 'errored', message: 'the batch answered with something that is not a message' };
    }
    case 'errored':
      return { customId, ok: false, reason: 'errored', message: redactText(result.error?.error?.message ?? 'the request failed') };
    case 'expired':
      return { customId, ok: false, reason: 'expired', message: 'the batch expired before answering the request' };
    case 'canceled':
      return { customId, ok: false, reason: 'cancelled', message: 'the batch was cancelled before answering the request' };
  }
}
