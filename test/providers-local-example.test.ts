import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PhrasePicker, randomFrom } from '../src/gateway/prompt-words.js';
import { valueForSchema } from '../src/gateway/mock-value.js';
import { popEnv, runPopWithEnv } from './support/fake-llm-server.js';
import { copyExample, makeWorkspace, readRunRecords } from './support/workspace.js';

/**
 * A stand-in for Ollama, vLLM or llama.cpp: an OpenAI-compatible server on localhost whose replies
 * fit the JSON Schema sent in response_format (made from the prompt's words), or are plain text.
 */
async function startLocalModelServer(): Promise<{ url: string; requests: Array<Record<string, unknown>>; server: Server }> {
  const requests: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const request = JSON.parse(body) as {
        model: string;
        messages: Array<{ role: string; content: string }>;
        response_format?: { json_schema?: { schema?: Record<string, unknown> } };
      };
      requests.push({ path: req.url, ...request });
      const user = request.messages.find((message) => message.role === 'user')?.content ?? '';
      const words = new PhrasePicker(user, randomFrom(JSON.stringify(request.messages)));
      const schema = request.response_format?.json_schema?.schema;
      const content = schema ? JSON.stringify(valueForSchema(schema, words)) : Array.from({ length: 6 }, () => words.sentence()).join(' ');
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, requests, server };
}

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

describe('the example pipeline on a local OpenAI-compatible server', () => {
  it('runs with providers.local.baseURL and models.default set, and nothing else changed', async () => {
    const local = await startLocalModelServer();
    server = local.server;
    const ws = await makeWorkspace({});
    await copyExample(ws);
    for (const seed of await readdir(ws.path('examples', 'seeds'))) await cp(ws.path('examples', 'seeds', seed), ws.path('pipeline-pending', seed));
    const pipeline = JSON.parse(await readFile(ws.pipelineFile, 'utf8')) as Record<string, unknown>;
    pipeline.providers = { local: { type: 'openai', baseURL: local.url } };
    pipeline.models = { default: 'local:llama3.1' };
    delete pipeline.$schema;
    await writeFile(ws.pipelineFile, JSON.stringify(pipeline, null, 2));

    const result = await runPopWithEnv(ws, ['start', '--once'], popEnv());
    expect(result.exitCode, result.stderr).toBe(0);
    const records = await readRunRecords(ws);
    expect(records.map((record) => record.seed).sort()).toEqual(['community-solar.json', 'four-day-week.json', 'harrow-valley-review.json']);
    let calls = 0;
    for (const record of records) {
      expect(record.tasks.map((task) => task.name)).toEqual(['extract-facts', 'outline', 'open-questions', 'write-brief']);
      // One call per part of the document, then one per later task, each answered first time:
      // the mock's forced failure does not apply to a real model.
      const facts = JSON.parse(await readFile(join(ws.complete, record.id, 'tasks', 'extract-facts', 'output.json'), 'utf8')) as { value: { parts: number } };
      const expected = facts.value.parts + 3;
      expect(record.totals).toMatchObject({ calls: expected, inputTokens: 100 * expected, outputTokens: 50 * expected });
      calls += expected;
      const brief = await readFile(join(ws.complete, record.id, 'tasks', 'write-brief', 'brief.md'), 'utf8');
      expect(brief.startsWith('# ')).toBe(true);
    }
    expect(local.requests).toHaveLength(calls);
    expect(local.requests.every((request) => request.path === '/v1/chat/completions' && request.model === 'llama3.1')).toBe(true);
    // Structured output was asked for where the task has a schema, and not for the text task.
    expect(local.requests.filter((request) => request.response_format === undefined)).toHaveLength(records.length);
  });
});
