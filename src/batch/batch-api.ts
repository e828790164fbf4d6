import type { Message } from '../formats/message.js';
import type { MockBehaviour } from '../formats/pipeline.js';
import type { Completion } from '../gateway/types.js';

/** One request of a submission, as the provider's Batch API takes it. */
export interface BatchRequest {
  /** POP's id of the request: the batch's `custom_id` (1-64 of `[a-zA-Z0-9_-]`). */
  customId: string;
  /** The model name without its provider prefix. */
  model: string;
  messages: Message[];
  schema?: Record<string, unknown> | undefined;
  schemaName: string;
  /** The mock's behaviour, and the call's number (the mock's answer depends on both). */
  mock?: MockBehaviour | undefined;
  call: number;
}

/** How many of a batch's requests are where, as the provider counts them. */
export interface BatchCounts {
  total: number;
  succeeded: number;
  failed: number;
  /** Not answered yet. */
  processing: number;
}

export type BatchState =
  /** Accepted and being answered (validating, in progress, finalizing). */
  | 'open'
  /** Every request has its result line (answered, errored, expired or cancelled). */
  | 'ended'
  /** The provider refused the batch as a whole (its input failed validation): `message` says why. */
  | 'failed';

export interface BatchStatus {
  state: BatchState;
  counts: BatchCounts;
  /** The provider's words, for a failed batch. */
  message?: string | undefined;
}

/** One request's result: its answer, or why it has none. */
export type BatchResult =
  | { customId: string; ok: true; completion: Completion }
  | { customId: string; ok: false; reason: 'expired' | 'errored' | 'cancelled'; message: string };

/**
 * A provider's Batch API. Network and server failures are thrown (the batch pool tries again at
 * its next poll); a server without a Batch API throws BatchUnsupportedError from `create`.
 */
export interface BatchApi {
  /** Create a batch of these requests, tagged with POP's submission key; its id. */
  create(key: string, requests: BatchRequest[]): Promise<string>;
  /**
   * The batch an earlier `create` under this key made, if any: after a crash between writing the
   * submission record and saving the batch id, nothing is submitted twice.
   */
  find(key: string, customIds: string[], createdAfter: Date): Promise<string | undefined>;
  status(batchId: string): Promise<BatchStatus>;
  /**
   * Every request's result, once the batch has ended (or failed: then none may have one). A request
   * of `customIds` the provider gives no line for comes back expired.
   */
  results(batchId: string, customIds: string[]): AsyncIterable<BatchResult>;
  cancel(batchId: string): Promise<void>;
}

/**
 * The provider refused the batch as it was submitted (400, 413, 422: its input did not validate,
 * as Anthropic checks at creation): its calls fail with the provider's words.
 */
export class BatchRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchRejectedError';
  }
}

/** The server answered that it has no Batch API (404, 405, 501): calls go in real time instead. */
export class BatchUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchUnsupportedError';
  }
}
