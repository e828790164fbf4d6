// A local OpenAI-compatible server for the benchmark: answers Chat Completions after `latencyMs`,
// and, with a rate limit, answers 429 to requests beyond it in any second.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LlmServer {
  baseURL: string;
  stats: { requests: number; ok: number; rateLimited: number; firstAt: number; lastAt: number };
  close: () => Promise<void>;
}

export interface LlmServerOptions {
  latencyMs: number;
  /** Requests per second beyond which the server answers 429 (a sliding second), as providers enforce a per-minute limit. */
  requestsPerSecond?: number | undefined;
}

/** JSON that fits the bench's task schema, and reads as text for a task without one. */
const ANSWER = JSON.stringify({ summary: 'A number is a fine thing to say something about.', points: [{ text: 'It counts.', weight: 0.5 }], tone: 'plain' });

export async function startLlmServer(options: LlmServerOptions): Promise<LlmServer> {
  const stats = { requests: 0, ok: 0, rateLimited: 0, firstAt: 0, lastAt: 0 };
  const recent: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const now = Date.now();
      stats.requests++;
      stats.firstAt ||= now;
      stats.lastAt = now;
      if (options.requestsPerSecond !== undefined) {
        while (recent.length && (recent[0] as number) <= now - 1000) recent.shift();
        if (recent.length >= options.requestsPerSecond) {
          stats.rateLimited++;
          const body = JSON.stringify({ error: { message: 'rate limit', type: 'rate_limit_error' } });
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end(body);
          return;
        }
        recent.push(now);
      }
      let model = 'bench';
      try {
        model = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model?: string }).model ?? model;
      } catch {
        // any body is answered
      }
      setTimeout(() => {
        stats.ok++;
        const body = JSON.stringify({
          id: `chatcmpl-${stats.requests}`,
          object: 'chat.completion',
          created: Math.floor(now / 1000),
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 },
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      }, options.latencyMs);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    stats,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
