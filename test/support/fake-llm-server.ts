/**
 * Test support for the real-model providers: a local `node:http` server that speaks the OpenAI
 * Chat Completions and Anthropic Messages wire formats, so the official SDKs run unchanged against
 * it, and a way to run the real CLI with the environment (keys) a test chooses.
 *
 * Each test scripts what the server answers as a queue of behaviours (a reply, a status code with
 * `retry-after`, a body that is not JSON, a slow answer, ...), and reads back every request it got.
 *
 *   const fake = await startFakeLlm();
 *   fake.queue(rateLimited('0'), jsonReply({ answer: 'salt' }));
 *   // pipeline.json: providers.oai = { type: 'openai', baseURL: fake.openaiBaseURL, ... }
 *   fake.requests[0].body.response_format ...
 */
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, expect } from 'vitest';
import { CLI, makeWorkspace, parseEvents, registryModule, runDirs, type PopResult, type Workspace } from './workspace.js';

export interface TokenUsage {
  input: number;
  output: number;
  /** Of `input`, read from the provider's prompt cache. */
  cached?: number;
}

/** What the server does with one request. */
export type Behaviour =
  | { kind: 'reply'; text: string; usage?: TokenUsage; finish?: 'stop' | 'length'; served?: { model?: string; finishReason?: string } }
  | { kind: 'status'; status: number; message: string; headers?: Record<string, string>; rawBody?: string }
  | { kind: 'not-json'; body: string; contentType: string }
  | { kind: 'slow'; delayMs: number; then: Behaviour }
  | { kind: 'from-request'; make: (request: RecordedRequest) => Behaviour };

export const DEFAULT_USAGE: TokenUsage = { input: 11, output: 7 };

/** A normal reply whose content is `text`. */
export const reply = (text: string, usage?: TokenUsage): Behaviour => ({ kind: 'reply', text, ...(usage ? { usage } : {}) });
/** A reply whose content is `value` as JSON. */
export const jsonReply = (value: unknown, usage?: TokenUsage): Behaviour => reply(JSON.stringify(value), usage);
/** A reply whose content is `value` as JSON cut off half-way, as a model hitting its token limit sends. */
export const cutJsonReply = (value: unknown): Behaviour => {
  const json = JSON.stringify(value, null, 2);
  return { kind: 'reply', text: json.slice(0, Math.floor(json.length / 2)), finish: 'length' };
};
/** An error status, its body in the API's error format. */
export const statusReply = (status: number, message: string, headers: Record<string, string> = {}): Behaviour => ({ kind: 'status', status, message, headers });
/** 429 with a `retry-after` (seconds) header. */
export const rateLimited = (retryAfter: string): Behaviour => statusReply(429, 'Rate limit reached, please slow down', { 'retry-after': retryAfter });
/** 500; `retryAfterMs` keeps the SDK's backoff short. */
export const serverError = (retryAfterMs?: number): Behaviour =>
  statusReply(500, 'The fake server had an internal error', retryAfterMs === undefined ? {} : { 'retry-after-ms': String(retryAfterMs) });
/** 401 with an error body saying `message` (which may echo the key back, as some servers do). */
export const unauthorized = (message = 'Incorrect API key provided'): Behaviour => statusReply(401, message);
/** A 200 whose body is not JSON, though it says it is (a proxy's error page). */
export const notJson = (body = '<html><body>502 Bad Gateway</body></html>', contentType = 'application/json'): Behaviour => ({
  kind: 'not-json',
  body,
  contentType,
});
/** A behaviour made from the request it answers: a server that echoes what it was sent. */
export const fromRequest = (make: (request: RecordedRequest) => Behaviour): Behaviour => ({ kind: 'from-request', make });
/** The credential a request carried: the `Authorization` header's token, or `x-api-key`. */
export const sentKey = (request: RecordedRequest): string =>
  String(request.headers['x-api-key'] ?? request.headers.authorization ?? '').replace(/^Bearer /, '');
/** Wait `delayMs`, then do `then` (unless the client hung up first). */
export const slow = (delayMs: number, then: Behaviour = reply('too late')): Behaviour => ({ kind: 'slow', delayMs, then });

export type Api = 'openai' | 'anthropic';

export interface RecordedRequest {
  api: Api | undefined;
  method: string;
  path: string;
  /** Header names lowercased, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The JSON body, or the raw text when it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: the tests read whatever the SDK sent, field by field.
  body: any;
  model: string | undefined;
  receivedAt: number;
  /** The client closed the connection before the server answered (an abort or a client timeout). */
  abandoned: boolean;
}

export interface FakeLlm {
  url: string;
  /** `baseURL` for the OpenAI SDK (it appends `/chat/completions`). */
  openaiBaseURL: string;
  /** `baseURL` for the Anthropic SDK (it appends `/v1/messages`). */
  anthropicBaseURL: string;
  requests: RecordedRequest[];
  /** Behaviours for the next requests, any model, in order. */
  queue: (...behaviours: Behaviour[]) => void;
  /** Behaviours for the next requests for this model, in order; taken before the general queue. */
  queueFor: (model: string, ...behaviours: Behaviour[]) => void;
  /** What to do once the queues are empty (for this model, or any). */
  always: (behaviour: Behaviour, model?: string) => void;
  requestsFor: (model: string) => RecordedRequest[];
  /** The most requests that were open at the same time. */
  maxInFlight: () => number;
  /**
   * Answer 429 (`retry-after: 1`) to a request beyond `perSecond` in any second, as providers
   * enforcing a rate limit do; those answers are counted in `rateLimitedCount` (and recorded).
   */
  limitRate: (perSecond: number) => void;
  rateLimitedCount: () => number;
  /** Stop answering: every request's connection is dropped as it comes (counted), as a server going away does. */
  stop: () => void;
  /** Answer again after `stop`. */
  restart: () => void;
  /** Requests dropped while stopped. */
  droppedConnections: () => number;
  close: () => Promise<void>;
}

const ANY = '*';
const servers = new Set<FakeLlm>();

afterEach(async () => {
  await Promise.all([...servers].map((server) => server.close()));
  servers.clear();
});

/** Start a fake on 127.0.0.1 and a random port; closed after each test. */
export async function startFakeLlm(): Promise<FakeLlm> {
  const queues = new Map<string, Behaviour[]>();
  const fallbacks = new Map<string, Behaviour>();
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let inFlight = 0;
  let maxInFlight = 0;

  const next = (model: string | undefined): Behaviour => {
    for (const key of [model ?? ANY, ANY]) {
      const queued = queues.get(key)?.shift();
      if (queued) return queued;
    }
    return (
      (model !== undefined ? fallbacks.get(model) : undefined) ??
      fallbacks.get(ANY) ??
      statusReply(400, `fake server: nothing scripted for model ${JSON.stringify(model)} (request ${requests.length})`)
    );
  };

  const server = createServer((req, res) => {
    if (stopped) {
      dropped++;
      req.socket.destroy();
      return;
    }
    void handle(req, res);
  });
  let perSecond: number | undefined;
  let rateLimitedCount = 0;
  const accepted: number[] = [];
  let stopped = false;
  let dropped = 0;
  /** Whether a request arriving now is beyond the rate limit (a sliding second). */
  const beyondRate = (now: number): boolean => {
    if (perSecond === undefined) return false;
    while (accepted.length && (accepted[0] as number) <= now - 1000) accepted.shift();
    if (accepted.length >= perSecond) return true;
    accepted.push(now);
    return false;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    // biome-ignore lint/suspicious/noExplicitAny: see RecordedRequest.body.
    let body: any = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      // kept as text
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const api: Api | undefined =
      req.method === 'POST' && path === '/v1/chat/completions' ? 'openai' : req.method === 'POST' && path === '/v1/messages' ? 'anthropic' : undefined;
    const record: RecordedRequest = {
      api,
      method: req.method ?? '',
      path,
      headers: { ...req.headers },
      body,
      model: typeof body?.model === 'string' ? body.model : undefined,
      receivedAt: Date.now(),
      abandoned: false,
    };
    requests.push(record);
    if (api && beyondRate(record.receivedAt)) {
      rateLimitedCount++;
      send(res, 429, errorBody(api, 429, 'Rate limit reached'), { 'retry-after': '1' });
      return;
    }
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    res.on('close', () => {
      inFlight--;
      if (!res.writableFinished) record.abandoned = true;
    });
    if (!api) {
      send(res, 404, { error: { message: `fake server: no route ${req.method} ${path}` } });
      return;
    }
    respond(api, record, res, next(record.model));
  }

  function respond(api: Api, record: RecordedRequest, res: ServerResponse, behaviour: Behaviour): void {
    switch (behaviour.kind) {
      case 'reply':
        send(res, 200, api === 'openai' ? openaiCompletion(record, behaviour) : anthropicMessage(record, behaviour));
        return;
      case 'status':
        send(res, behaviour.status, behaviour.rawBody ?? errorBody(api, behaviour.status, behaviour.message), behaviour.headers);
        return;
      case 'not-json':
        res.writeHead(200, { 'content-type': behaviour.contentType });
        res.end(behaviour.body);
        return;
      case 'from-request':
        respond(api, record, res, behaviour.make(record));
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) respond(api, record, res, behaviour.then);
        }, behaviour.delayMs);
        timers.add(timer);
        res.on('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
        return;
      }
    }
  }

  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;
  const fake: FakeLlm = {
    url,
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: url,
    requests,
    queue: (...behaviours) => queues.set(ANY, [...(queues.get(ANY) ?? []), ...behaviours]),
    queueFor: (model, ...behaviours) => queues.set(model, [...(queues.get(model) ?? []), ...behaviours]),
    always: (behaviour, model = ANY) => fallbacks.set(model, behaviour),
    requestsFor: (model) => requests.filter((request) => request.model === model),
    maxInFlight: () => maxInFlight,
    limitRate: (limit) => {
      perSecond = limit;
    },
    rateLimitedCount: () => rateLimitedCount,
    stop: () => {
      stopped = true;
      server.closeAllConnections();
    },
    restart: () => {
      stopped = false;
    },
    droppedConnections: () => dropped,
    close: () => {
      closed ??= new Promise<void>((done) => {
        for (const timer of timers) clearTimeout(timer);
        server.close(() => done());
        server.closeAllConnections();
      });
      return closed;
    },
  };
  servers.add(fake);
  return fake;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

let counter = 0;

export function openaiCompletion(record: RecordedRequest, behaviour: Extract<Behaviour, { kind: 'reply' }>) {
  const usage = behaviour.usage ?? DEFAULT_USAGE;
  return {
    id: `chatcmpl-fake-${++counter}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: behaviour.served?.model ?? record.model ?? 'fake',
    choices: [
      { index: 0, message: { role: 'assistant', content: behaviour.text }, finish_reason: behaviour.served?.finishReason ?? behaviour.finish ?? 'stop' },
    ],
    usage: {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
      ...(usage.cached ? { prompt_tokens_details: { cached_tokens: usage.cached } } : {}),
    },
  };
}

export function anthropicMessage(record: RecordedRequest, behaviour: Extract<Behaviour, { kind: 'reply' }>) {
  const usage = behaviour.usage ?? DEFAULT_USAGE;
  return {
    id: `msg_fake_${++counter}`,
    type: 'message',
    role: 'assistant',
    model: behaviour.served?.model ?? record.model ?? 'fake',
    content: [{ type: 'text', text: behaviour.text }],
    stop_reason: behaviour.served?.finishReason ?? (behaviour.finish === 'length' ? 'max_tokens' : 'end_turn'),
    stop_sequence: null,
    // Anthropic counts cache reads apart from input_tokens.
    usage: { input_tokens: usage.input - (usage.cached ?? 0), output_tokens: usage.output, ...(usage.cached ? { cache_read_input_tokens: usage.cached } : {}) },
  };
}

function errorBody(api: Api, status: number, message: string) {
  const type = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
  return api === 'openai'
    ? { error: { message, type, param: null, code: status === 401 ? 'invalid_api_key' : null } }
    : { type: 'error', error: { type, message } };
}

// ---------------------------------------------------------------------------------------------
// Running POP against the fake.

/**
 * The environment a test's POP runs with: the parent's, without anything that would change which
 * key or server the SDKs use, plus `extra` (the keys the test chooses).
 */
export function popEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || /^(OPENAI|ANTHROPIC)_/.test(name) || /_proxy$/i.test(name)) continue;
    env[name] = value;
  }
  return { ...env, NO_PROXY: '127.0.0.1,localhost', ...extra };
}

/** `start --once --json --root` (or another command with `--root`) with exactly the environment `env`. */
export async function runPopWithEnv(ws: Workspace, args: string[], env: Record<string, string>, timeoutMs = 50_000): Promise<PopResult> {
  const [command, ...rest] = args;
  const full = command === 'start' ? ['start', '--json', '--root', ws.root, ...rest] : [...args, '--root', ws.root];
  const result = await execa(process.execPath, [CLI, ...full], { cwd: ws.root, env, extendEnv: false, reject: false, stdin: 'ignore', timeout: timeoutMs });
  return { exitCode: result.exitCode, signal: result.signal, stdout: result.stdout, stderr: result.stderr, events: parseEvents(result.stdout) };
}

/** A task with an output schema: `{ answer, confidence }`. */
export const JSON_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ answer: z.string().min(1), confidence: z.number().min(0).max(1) }),
  prompt: ({ seed }) => ({ system: 'Answer briefly, as JSON.', user: String(seed.q) }),
});
`;

/** A text task (no schema). */
export const TEXT_TASK = `import { defineTask } from 'pop';
export default defineTask({
  prompt: ({ seed }) => ({ system: 'Answer in one sentence.', user: String(seed.q) }),
});
`;

export const GOOD_VALUE = { answer: 'Rivers carry dissolved minerals to the sea.', confidence: 0.9 };

export const SEED = { q: 'Why is the sea salty?' };

export interface LlmWorkspaceOptions {
  /** The task's model: a spec, an alias or a fallback list. */
  model: string | string[];
  /** More settings of the one task, `ask` (timeoutMs, maxRefinements, ...). */
  task?: Record<string, unknown>;
  /** The task module; JSON_TASK by default. */
  module?: string;
  /** Settings merged into the two declared providers, `oai` (OpenAI wire format) and `anth` (Anthropic). */
  providers?: { oai?: Record<string, unknown>; anth?: Record<string, unknown> };
  /** More providers besides those two. */
  extraProviders?: Record<string, Record<string, unknown>>;
  /** More of pipeline.json (models, prices, ...). */
  pipeline?: Record<string, unknown>;
}

/**
 * A workspace whose one task `ask` calls the fake through the declared providers `oai` and `anth`
 * (`maxRetries: 1` unless set), with one pending seed.
 */
export async function llmWorkspace(fake: FakeLlm, options: LlmWorkspaceOptions): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': {
      name: 'providers',
      tasks: [{ name: 'ask', model: options.model, ...options.task }],
      providers: {
        oai: { type: 'openai', baseURL: fake.openaiBaseURL, apiKeyEnv: 'OPENAI_API_KEY', maxRetries: 1, ...options.providers?.oai },
        anth: { type: 'anthropic', baseURL: fake.anthropicBaseURL, apiKeyEnv: 'ANTHROPIC_API_KEY', maxRetries: 1, ...options.providers?.anth },
        ...options.extraProviders,
      },
      ...options.pipeline,
    },
    'pipeline-tasks/index.js': registryModule(['ask']),
    'pipeline-tasks/ask.js': options.module ?? JSON_TASK,
    'pipeline-pending/q.json': SEED,
  });
}

/** The one run folder of a workspace, in pipeline-complete/ or pipeline-current/. */
export async function onlyRun(ws: Workspace, where: 'complete' | 'current'): Promise<string> {
  const base = where === 'complete' ? ws.complete : ws.current;
  const dirs = await runDirs(base);
  expect(dirs, `one run folder in ${base}`).toHaveLength(1);
  return join(base, dirs[0] as string);
}

/** Every file under a folder, recursively, with its text. */
export async function filesUnder(dir: string): Promise<Array<{ path: string; text: string }>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile());
  return Promise.all(
    files.map(async (entry) => {
      const path = join(entry.parentPath, entry.name);
      return { path, text: await readFile(path, 'utf8') };
    }),
  );
}

/** The JSON lines of a log file (task.log, run.log). */
export async function logLines(path: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
