// The fan-out figure: one task of 64 items against a local OpenAI-compatible server answering after
// 200 ms, concurrency 16, beside a plain openai-SDK script making the same 64 calls 16 at a time.
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon } from './daemon.js';
import { median } from './stats.js';
import { dropSeed } from './workspace.js';
import { startSlowOpenAiServer } from './slow-openai-server.js';

const ITEMS = 64;
const CONCURRENCY = 16;
const LATENCY_MS = 200;
const PLAIN_SCRIPT = fileURLToPath(new URL('./plain-fanout.js', import.meta.url));

const FAN_TASK = `/** @type {import('pop').TaskDefinition} */
export default {
  each: () => Array.from({ length: ${ITEMS} }, (_, n) => n),
  prompt: (n) => 'Say something about item ' + n + '.',
};
`;

type Record = (figure: string, value: number, baseline: number | undefined, unit: string, target: { kind: 'ratio' | 'absolute'; max: number }) => void;

export async function fanOut(options: { quick: boolean; workspace: () => Promise<string>; record: Record }): Promise<void> {
  process.stderr.write(`fan-out (${ITEMS} items, ${LATENCY_MS} ms server, concurrency ${CONCURRENCY})…\n`);
  const rounds = options.quick ? 3 : 7;
  const server = await startSlowOpenAiServer(LATENCY_MS);
  const root = await options.workspace();
  await writeFile(
    join(root, 'pipeline.json'),
    JSON.stringify({
      name: 'bench-fan-out',
      tasks: [{ name: 'fan', model: 'local:bench', concurrency: CONCURRENCY }],
      providers: { local: { type: 'openai', baseURL: server.baseURL, maxRetries: 0 } },
    }),
  );
  await writeFile(join(root, 'pipeline-tasks', 'fan.js'), FAN_TASK);
  await writeFile(join(root, 'pipeline-tasks', 'index.js'), "import fan from './fan.js';\nexport default { fan };\n");

  const daemon = startDaemon(root, ['--concurrency', '1']);
  await daemon.next((event) => event.event === 'manager-ready');
  const pop: number[] = [];
  const plain: number[] = [];
  try {
    // Alternating, so both see the same machine load.
    for (let round = 0; round < rounds; round++) {
      const t0 = performance.now();
      await execa(process.execPath, [PLAIN_SCRIPT, server.baseURL, String(ITEMS), String(CONCURRENCY)]);
      plain.push(performance.now() - t0);

      const done = daemon.next((event) => event.event === 'run-complete' || event.event === 'run-failed');
      const t1 = performance.now();
      await dropSeed(root, `fan-${round}.json`, 0);
      const { event, at } = await done;
      if (event.event !== 'run-complete') throw new Error(`bench: the fan-out run failed: ${JSON.stringify(event)}`);
      pop.push(at - t1);
    }
  } finally {
    await daemon.stop();
    await server.close();
  }
  const expected = rounds * ITEMS * 2;
  if (server.requests() !== expected) throw new Error(`bench: the server saw ${server.requests()} requests, expected ${expected}`);
  options.record(
    `fan-out wall time, ${ITEMS} items, ${LATENCY_MS} ms server, concurrency ${CONCURRENCY} (seed dropped → run complete)`,
    median(pop),
    median(plain),
    'ms',
    { kind: 'ratio', max: 1.25 },
  );
}
