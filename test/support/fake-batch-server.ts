/**
 * Test support for the providers' Batch APIs: a local `node:http` server that speaks OpenAI's
 * Files + Batches and Anthropic's Message Batches wire formats (and their real-time endpoints), so
 * the official SDKs run unchanged against it. A batch ends `delayMs` after it was created; what
 * each request gets is scripted by its custom id.
 *
 *   const fake = await startFakeBatchServer({ delayMs: 200, expire: (id) => id === 'b' });
 *   // providers.oai = { type: 'openai', baseURL: fake.openaiBaseURL }
 *   fake.batches[0].requests ...
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { type Api, anthropicMessage, DEFAULT_USAGE, openaiCompletion, type RecordedRequest, type TokenUsage } from './fake-llm-server.js';

export interface FakeBatchOptions {
  /** The reply text for a request body (a batch line's, or a real-time call's). */
  // biome-ignore lint/suspicious/noExplicitAny: the body is whatever the SDK sent.
  answer?: (body: any, api: Api) => string;
  /** How long after its creation a batch ends; 0 by default. */
  delayMs?: number;
  /** Requests that come back expired. */
  expire?: (customId: string) => boolean;
  /** Requests that come back errored, with this message. */
  errorLine?: (customId: string) => string | undefined;
  /** Every batch fails validation with this message (OpenAI: status failed; Anthropic: 400 at creation). */
  failBatch?: string;
  /** Every batch route answers 404, as a server without a Batch API does. */
  noBatchApi?: boolean;
  usage?: TokenUsage;
}

export interface FakeBatch {
  id: string;
  api: Api;
  createdAt: number;
  // biome-ignore lint/suspicious/noExplicitAny: see FakeBatchOptions.answer.
  requests: Array<{ customId: string; body: any }>;
  metadata: Record<string, string> | undefined;
  cancelled: boolean;
}

export interface FakeBatchServer {
  /** `baseURL` for the OpenAI SDK. */
  openaiBaseURL: string;
  /** `baseURL` for the Anthropic SDK. */
  anthropicBaseURL: string;
  batches: FakeBatch[];
  // biome-ignore lint/suspicious/noExplicitAny: see FakeBatchOptions.answer.
  realtimeRequests: Array<{ api: Api; body: any }>;
  /** Batches created. */
  creates: () => number;
  close: () => Promise<void>;
}

export const DEFAULT_ANSWER = JSON.stringify({ answer: 'Rivers carry dissolved minerals to the sea.', confidence: 0.9 });
/** Small pages, so that the clients' paging through batch lists is exercised. */
const PAGE_SIZE = 2;

const servers = new Set<FakeBatchServer>();
afterEach(async () => {
  await Promise.all([...servers].map((server) => server.close()));
  servers.clear();
});

/** Start a fake on 127.0.0.1 and a random port; closed after each test. */
export async function startFakeBatchServer(options: FakeBatchOptions = {}): Promise<FakeBatchServer> {
  const batches: FakeBatch[] = [];
  const realtimeRequests: FakeBatchServer['realtimeRequests'] = [];
  const files = new Map<string, string>();
  let counter = 0;
  const answer = options.answer ?? (() => DEFAULT_ANSWER);
  const usage = options.usage ?? DEFAULT_USAGE;
  const reply = (api: Api, body: { model?: string }) => {
    const record = { model: body.model } as RecordedRequest;
    const behaviour = { kind: 'reply' as const, text: answer(body, api), usage };
    return api === 'openai' ? openaiCompletion(record, behaviour) : anthropicMessage(record, behaviour);
  };
  const ended = (batch: FakeBatch) => batch.cancelled || Date.now() >= batch.createdAt + (options.delayMs ?? 0);
  /** What a request of an ended batch got. */
  const outcome = (batch: FakeBatch, customId: string): 'ok' | 'expired' | 'errored' | 'cancelled' =>
    batch.cancelled ? 'cancelled' : options.expire?.(customId) ? 'expired' : options.errorLine?.(customId) !== undefined ? 'errored' : 'ok';
  const find = (id: string | undefined) => batches.find((batch) => batch.id === id);

  // --- OpenAI ---------------------------------------------------------------------------------

  const openaiBatch = (batch: FakeBatch) => {
    const done = ended(batch);
    const outcomes = batch.requests.map((request) => outcome(batch, request.customId));
    const completed = done ? outcomes.filter((value) => value === 'ok').length : 0;
    if (done && !written.has(batch.id)) writeOpenAIResults(batch);
    return {
      id: batch.id,
      object: 'batch',
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      input_file_id: `${batch.id}-input`,
      status: options.failBatch ? 'failed' : batch.cancelled ? 'cancelled' : done ? 'completed' : 'in_progress',
      errors: options.failBatch ? { object: 'list', data: [{ code: 'invalid_request', message: options.failBatch, line: 1 }] } : null,
      output_file_id: done && !options.failBatch && files.has(`${batch.id}-output`) ? `${batch.id}-output` : null,
      error_file_id: done && !options.failBatch && files.has(`${batch.id}-errors`) ? `${batch.id}-errors` : null,
      created_at: Math.floor(batch.createdAt / 1000),
      request_counts: { total: batch.requests.length, completed, failed: done ? batch.requests.length - completed : 0 },
      metadata: batch.metadata ?? null,
    };
  };
  const written = new Set<string>();
  function writeOpenAIResults(batch: FakeBatch): void {
    written.add(batch.id);
    const output: string[] = [];
    const errors: string[] = [];
    for (const { customId, body } of batch.requests) {
      const id = `batch_req_${++counter}`;
      const kind = outcome(batch, customId);
      if (kind === 'ok') output.push(JSON.stringify({ id, custom_id: customId, response: { status_code: 200, body: reply('openai', body) }, error: null }));
      if (kind === 'expired' || kind === 'cancelled') {
        const error =
          kind === 'expired'
            ? { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' }
            : { code: 'batch_cancelled', message: 'This request was cancelled.' };
        errors.push(JSON.stringify({ id, custom_id: customId, response: null, error }));
      }
      if (kind === 'errored') {
        const error = { message: options.errorLine?.(customId), type: 'invalid_request_error' };
        errors.push(JSON.stringify({ id, custom_id: customId, response: { status_code: 400, body: { error } }, error: null }));
      }
    }
    if (output.length) files.set(`${batch.id}-output`, `${output.join('\n')}\n`);
    if (errors.length) files.set(`${batch.id}-errors`, `${errors.join('\n')}\n`);
  }

  // --- Anthropic ------------------------------------------------------------------------------

  const anthropicBatch = (batch: FakeBatch) => {
    const done = ended(batch);
    const counts = { processing: done ? 0 : batch.requests.length, succeeded: 0, errored: 0, expired: 0, canceled: 0 };
    if (done) {
      for (const { customId } of batch.requests) {
        const kind = outcome(batch, customId);
        counts[kind === 'ok' ? 'succeeded' : kind === 'cancelled' ? 'canceled' : kind]++;
      }
    }
    return {
      id: batch.id,
      type: 'message_batch',
      processing_status: done ? 'ended' : 'in_progress',
      request_counts: counts,
      created_at: new Date(batch.createdAt).toISOString(),
      ended_at: done ? new Date().toISOString() : null,
      expires_at: new Date(batch.createdAt + 86_400_000).toISOString(),
      archived_at: null,
      cancel_initiated_at: batch.cancelled ? new Date().toISOString() : null,
      results_url: done ? `${url}/v1/messages/batches/${batch.id}/results` : null,
    };
  };
  const anthropicLine = (batch: FakeBatch, customId: string, body: unknown) => {
    const kind = outcome(batch, customId);
    if (kind === 'ok') return { custom_id: customId, result: { type: 'succeeded', message: reply('anthropic', body as { model?: string }) } };
    if (kind === 'errored') {
      const error = { type: 'error', error: { type: 'invalid_request_error', message: options.errorLine?.(customId) }, request_id: null };
      return { custom_id: customId, result: { type: 'errored', error } };
    }
    return { custom_id: customId, result: { type: kind === 'cancelled' ? 'canceled' : 'expired' } };
  };

  // --- Routing --------------------------------------------------------------------------------

  /** Newest first, `PAGE_SIZE` at a time after the batch `after`. */
  const page = (api: Api, after: string | null) => {
    const newest = batches.filter((batch) => batch.api === api).reverse();
    const start = after ? newest.findIndex((batch) => batch.id === after) + 1 : 0;
    const slice = newest.slice(start, start + PAGE_SIZE);
    return { slice, has_more: start + PAGE_SIZE < newest.length, first_id: slice[0]?.id ?? null, last_id: slice.at(-1)?.id ?? null };
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const address = new URL(req.url ?? '/', url);
    const route = `${req.method} ${address.pathname}`;
    const json = () => JSON.parse(raw.toString('utf8'));
    const parts = address.pathname.split('/');
    const isBatchRoute = /^\/v1\/(files|batches|messages\/batches)/.test(address.pathname);
    if (options.noBatchApi && isBatchRoute) return send(res, 404, { error: { message: `fake server: no route ${route}` } });

    if (route === 'POST /v1/chat/completions' || route === 'POST /v1/messages') {
      const api: Api = route === 'POST /v1/messages' ? 'anthropic' : 'openai';
      const body = json();
      realtimeRequests.push({ api, body });
      return send(res, 200, reply(api, body));
    }
    if (route === 'POST /v1/files') {
      const form = await new Request(address, { method: 'POST', headers: req.headers as Record<string, string>, body: raw }).formData();
      const file = form.get('file') as File;
      const id = `file-fake-${++counter}`;
      files.set(id, await file.text());
      return send(res, 200, { id, object: 'file', bytes: file.size, created_at: Math.floor(Date.now() / 1000), filename: file.name, purpose: 'batch' });
    }
    if (route === 'POST /v1/batches') {
      const body = json();
      const lines = (files.get(body.input_file_id) ?? '').split('\n').filter(Boolean);
      const requests = lines.map((line) => JSON.parse(line)).map((line) => ({ customId: line.custom_id, body: line.body }));
      const batch: FakeBatch = { id: `batch_fake_${++counter}`, api: 'openai', createdAt: Date.now(), requests, metadata: body.metadata, cancelled: false };
      files.set(`${batch.id}-input`, lines.join('\n'));
      batches.push(batch);
      return send(res, 200, openaiBatch(batch));
    }
    if (route === 'GET /v1/batches') {
      const { slice, ...rest } = page('openai', address.searchParams.get('after'));
      return send(res, 200, { object: 'list', data: slice.map(openaiBatch), ...rest });
    }
    if (req.method === 'GET' && /^\/v1\/batches\/[^/]+$/.test(address.pathname) && find(parts[3])?.api === 'openai') {
      return send(res, 200, openaiBatch(find(parts[3]) as FakeBatch));
    }
    if (req.method === 'POST' && /^\/v1\/batches\/[^/]+\/cancel$/.test(address.pathname) && find(parts[3])) {
      const batch = find(parts[3]) as FakeBatch;
      if (!ended(batch)) batch.cancelled = true;
      return send(res, 200, openaiBatch(batch));
    }
    if (req.method === 'GET' && /^\/v1\/files\/[^/]+\/content$/.test(address.pathname) && files.has(parts[3] as string)) {
      return send(res, 200, files.get(parts[3] as string) as string, 'application/octet-stream');
    }

    if (route === 'POST /v1/messages/batches') {
      if (options.failBatch) return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: options.failBatch } });
      const body = json();
      const requests = body.requests.map((request: { custom_id: string; params: unknown }) => ({ customId: request.custom_id, body: request.params }));
      const batch: FakeBatch = { id: `msgbatch_fake_${++counter}`, api: 'anthropic', createdAt: Date.now(), requests, metadata: undefined, cancelled: false };
      batches.push(batch);
      return send(res, 200, anthropicBatch(batch));
    }
    if (route === 'GET /v1/messages/batches') {
      const { slice, ...rest } = page('anthropic', address.searchParams.get('after_id'));
      return send(res, 200, { data: slice.map(anthropicBatch), ...rest });
    }
    const batch = find(parts[4]);
    if (batch?.api === 'anthropic' && req.method === 'GET' && address.pathname === `/v1/messages/batches/${batch.id}`) {
      return send(res, 200, anthropicBatch(batch));
    }
    if (batch?.api === 'anthropic' && req.method === 'GET' && address.pathname.endsWith('/results') && ended(batch)) {
      const lines = batch.requests.map(({ customId, body }) => JSON.stringify(anthropicLine(batch, customId, body)));
      return send(res, 200, `${lines.join('\n')}\n`, 'application/binary');
    }
    if (batch?.api === 'anthropic' && req.method === 'POST' && address.pathname.endsWith('/cancel')) {
      if (!ended(batch)) batch.cancelled = true;
      return send(res, 200, anthropicBatch(batch));
    }
    send(res, 404, { error: { message: `fake server: no route ${route}` } });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { error: { message: `fake server: ${String(error)}` } }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed: Promise<void> | undefined;
  const fake: FakeBatchServer = {
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: url,
    batches,
    realtimeRequests,
    creates: () => batches.length,
    close: () => {
      closed ??= new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
      return closed;
    },
  };
  servers.add(fake);
  return fake;
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}
