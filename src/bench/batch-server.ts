// A local server for the Batch API figure: OpenAI's Chat Completions, Files and Batches, as much of
// them as the official SDK uses. A batch stays in progress until the benchmark releases it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const ANSWER = JSON.stringify({ text: 'A short answer.' });
const USAGE = { prompt_tokens: 400, completion_tokens: 100, total_tokens: 500 };

interface Batch {
  id: string;
  inputFile: string;
  metadata: Record<string, string> | null;
  createdAt: number;
  requests: number;
  outputFile?: string;
}

function completion(model: string, id: string) {
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' }],
    usage: USAGE,
  };
}

/** The file part of a multipart upload (the SDK sends one file field). */
function uploadedFile(body: Buffer, contentType: string): string {
  const boundary = /boundary=(.+)$/.exec(contentType)?.[1] ?? '';
  const text = body.toString('utf8');
  const part = text.split(`--${boundary}`).find((chunk) => /name="file"/.test(chunk)) ?? '';
  return part.slice(part.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '');
}

export async function startBatchServer() {
  const files = new Map<string, string>();
  const batches: Batch[] = [];
  let released = false;
  let realtime = 0;
  let counter = 0;
  const json = (res: ServerResponse, status: number, value: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  const batchBody = (batch: Batch) => ({
    id: batch.id,
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: batch.inputFile,
    completion_window: '24h',
    status: released ? 'completed' : 'in_progress',
    created_at: Math.floor(batch.createdAt / 1000),
    metadata: batch.metadata,
    output_file_id: released ? batch.outputFile : null,
    error_file_id: null,
    request_counts: { total: batch.requests, completed: released ? batch.requests : 0, failed: 0 },
  });
  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      realtime++;
      const request = JSON.parse(body.toString('utf8')) as { model: string };
      return json(res, 200, completion(request.model, `chatcmpl-${++counter}`));
    }
    if (req.method === 'POST' && path === '/v1/files') {
      const id = `file-${++counter}`;
      files.set(id, uploadedFile(body, String(req.headers['content-type'])));
      return json(res, 200, { id, object: 'file', bytes: body.length, created_at: 0, filename: 'batch.jsonl', purpose: 'batch' });
    }
    if (req.method === 'POST' && path === '/v1/batches') {
      const request = JSON.parse(body.toString('utf8')) as { input_file_id: string; metadata?: Record<string, string> };
      const lines = (files.get(request.input_file_id) ?? '').split('\n').filter(Boolean);
      const output = lines
        .map((line) => {
          const { custom_id, body: call } = JSON.parse(line) as { custom_id: string; body: { model: string } };
          return JSON.stringify({
            id: `r-${++counter}`,
            custom_id,
            response: { status_code: 200, body: completion(call.model, `chatcmpl-${counter}`) },
            error: null,
          });
        })
        .join('\n');
      const outputFile = `file-${++counter}`;
      files.set(outputFile, `${output}\n`);
      const batch: Batch = {
        id: `batch_${++counter}`,
        inputFile: request.input_file_id,
        metadata: request.metadata ?? null,
        createdAt: Date.now(),
        requests: lines.length,
        outputFile,
      };
      batches.push(batch);
      return json(res, 200, batchBody(batch));
    }
    if (req.method === 'GET' && path === '/v1/batches') return json(res, 200, { object: 'list', data: [...batches].reverse().map(batchBody), has_more: false });
    const batch = /^\/v1\/batches\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && batch) {
      const found = batches.find((candidate) => candidate.id === batch[1]);
      return found ? json(res, 200, batchBody(found)) : json(res, 404, { error: { message: 'no such batch' } });
    }
    const content = /^\/v1\/files\/([^/]+)\/content$/.exec(path);
    if (req.method === 'GET' && content) return res.writeHead(200, { 'content-type': 'application/jsonl' }).end(files.get(content[1] ?? '') ?? '');
    json(res, 404, { error: { message: `no route ${req.method} ${path}` } });
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    batches: () => batches.map((batch) => ({ id: batch.id, requests: batch.requests })),
    realtime: () => realtime,
    /** Every batch, and every batch created later, ends now. */
    release: () => {
      released = true;
    },
    close: () => new Promise<void>((done) => (server.close(() => done()), server.closeAllConnections())),
  };
}
