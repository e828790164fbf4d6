// The baseline for API-bound work: a plain openai-SDK script making the same calls (3 a seed, one
// after another) with a promise pool of `concurrency`. `node sdk-script.js <baseURL> <seeds> <concurrency>`
// prints its wall time in ms.
import OpenAI from 'openai';

const [baseURL, seedsArg, concurrencyArg] = process.argv.slice(2);
const seeds = Number(seedsArg);
const concurrency = Number(concurrencyArg);
const client = new OpenAI({ apiKey: 'bench', baseURL, maxRetries: 2 });

async function seed(n: number): Promise<void> {
  let text = `Say something about ${n}. It is a number. Numbers are fine.`;
  for (let step = 0; step < 3; step++) {
    const reply = await client.chat.completions.create({ model: 'bench-model', messages: [{ role: 'user', content: text }] });
    text = reply.choices[0]?.message.content ?? '';
  }
}

const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < seeds) await seed(next++);
  }),
);
process.stdout.write(`${Math.round(performance.now() - started)}\n`);
