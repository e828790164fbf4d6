// The escalation figure: 200 fan-out items against a local OpenAI-compatible server on which the
// cheap model's replies fail validation for a fixed, seeded 20% of items and the strong model
// (10× the price) always validates. Strong-only against the cascade, in one run: cost and wall.
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { median, type RecordFigure } from './stats.js';
import { REPO, dropSeed } from './workspace.js';

const ITEMS = 200;
const HARD_SHARE = 0.2;
const LATENCY_MS = 300;
const CONCURRENCY = 16;
const MANAGER = join(REPO, 'orchestrator', 'manager.js');

const TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ answer: z.string().min(1), item: z.number().int() }),
  each: () => Array.from({ length: ${ITEMS} }, (_, n) => n),
  prompt: (n) => 'Answer about item ' + n + ' as JSON with its number.',
  finalize: (values) => values.length,
});
`;

/** Seeded: the same items are hard in both runs and every time (a hash of the item number). */
function isHard(item: number): boolean {
  // murmur3's finalizer over the item number and a fixed seed: evenly spread, the same every run.
  let hash = (item + 0x9e3779b9 * 42) >>> 0;
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b) >>> 0;
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35) >>> 0;
  hash = (hash ^ (hash >>> 16)) >>> 0;
  return hash / 0x100000000 < HARD_SHARE;
}

/** Answers after LATENCY_MS, with tokens reckoned from the request (a refinement's longer context costs more). */
async function startServer() {
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests++;
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(raw) as { model: string; messages: Array<{ content: string }> };
      const item = Number(/item (\d+)/.exec(body.messages.map((message) => message.content).join(' '))?.[1] ?? -1);
      const good = body.model === 'strong' || !isHard(item);
      const content = JSON.stringify(good ? { answer: `About item ${item}.`, item } : { answer: '', item });
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: `chatcmpl-${requests}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: body.model,
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
            usage: { prompt_tokens: Math.ceil(raw.length / 4), completion_tokens: 20, total_tokens: Math.ceil(raw.length / 4) + 20 },
          }),
        );
      }, LATENCY_MS);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests: () => requests,
    close: () => new Promise<void>((done) => (server.close(() => done()), server.closeAllConnections())),
  };
}

interface Outcome {
  costUsd: number;
  wallMs: number;
  escalations: number;
  complete: number;
}

async function runOnce(workspace: () => Promise<string>, baseURL: string, task: Record<string, unknown>): Promise<Outcome> {
  const root = await workspace();
  await writeFile(
    join(root, 'pipeline.json'),
    JSON.stringify({
      name: 'bench-escalation',
      tasks: [{ name: 'fan', concurrency: CONCURRENCY, maxRefinements: 2, ...task }],
      providers: { local: { type: 'openai', baseURL, maxRetries: 0 } },
      // The strong model costs ten times the cheap one.
      prices: { 'local:cheap': { inputPerMillion: 0.15, outputPerMillion: 0.6 }, 'local:strong': { inputPerMillion: 1.5, outputPerMillion: 6 } },
    }),
  );
  await writeFile(join(root, 'pipeline-tasks', 'fan.js'), TASK);
  await writeFile(join(root, 'pipeline-tasks', 'index.js'), "import fan from './fan.js';\nexport default { fan };\n");
  await dropSeed(root, 'items.json', 0);
  const t0 = performance.now();
  await execa(process.execPath, [MANAGER, 'start', '--once', '--root', root]);
  const wallMs = performance.now() - t0;
  const [line] = (await readFile(join(root, 'pipeline-complete', 'runs.jsonl'), 'utf8')).split('\n');
  const record = JSON.parse(line ?? '{}') as { totals: { costUsd?: number; escalations?: number }; tasks: Array<{ name: string }> };
  return { costUsd: record.totals.costUsd ?? 0, wallMs, escalations: record.totals.escalations ?? 0, complete: record.tasks.length };
}

export async function escalationFigures(options: { quick: boolean; workspace: () => Promise<string>; record: RecordFigure }): Promise<void> {
  const rounds = options.quick ? 1 : 3;
  process.stderr.write(`escalation (${ITEMS} items, ${HARD_SHARE * 100}% hard for the cheap model, ${LATENCY_MS} ms server)…\n`);
  const server = await startServer();
  try {
    const strong: Outcome[] = [];
    const cascade: Outcome[] = [];
    // Alternating, so both see the same machine load; the cost is the same every round.
    for (let round = 0; round < rounds; round++) {
      strong.push(await runOnce(options.workspace, server.baseURL, { model: 'local:strong' }));
      // The cascade: the cheap model first; a reply that fails validation goes straight to the strong one.
      cascade.push(await runOnce(options.workspace, server.baseURL, { model: 'local:cheap', escalate: ['local:strong'], escalateAfter: 0 }));
    }
    const hard = Array.from({ length: ITEMS }, (_, n) => n).filter(isHard).length;
    for (const outcome of [...strong, ...cascade]) if (outcome.complete !== 1) throw new Error('bench: an escalation run did not complete');
    if (cascade.some((outcome) => outcome.escalations !== hard))
      throw new Error(`bench: the cascade escalated ${cascade[0]?.escalations} items, expected ${hard}`);
    options.record(
      `escalation: cost of the cascade (cheap, then strong on a failed validation; ${hard} of ${ITEMS} items hard), vs strong only`,
      cascade[0]!.costUsd * 100,
      strong[0]!.costUsd * 100,
      'US cents',
      { kind: 'ratio', max: 0.4 },
    );
    options.record(
      `escalation: wall time of the cascade vs strong only (${LATENCY_MS} ms server, ${CONCURRENCY} items at once, median of ${rounds})`,
      median(cascade.map((outcome) => outcome.wallMs)),
      median(strong.map((outcome) => outcome.wallMs)),
      'ms',
      { kind: 'ratio', max: 1.3 },
    );
  } finally {
    await server.close();
  }
}
