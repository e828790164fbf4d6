// The fan-out benchmark's baseline: a plain script making the same calls with the openai SDK,
// `concurrency` at a time. `node plain-fanout.js <baseURL> <count> <concurrency>`.
import OpenAI from 'openai';

const [baseURL, countArg, concurrencyArg] = process.argv.slice(2);
const count = Number(countArg);
const client = new OpenAI({ baseURL, apiKey: 'no-key', maxRetries: 0 });
let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrencyArg) }, async () => {
    while (next < count) {
      const n = next++;
      const reply = await client.chat.completions.create({ model: 'bench', messages: [{ role: 'user', content: `Say something about item ${n}.` }] });
      if (!reply.choices[0]?.message.content) throw new Error(`no answer for item ${n}`);
    }
  }),
);
