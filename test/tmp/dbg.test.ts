import { it } from 'vitest';
import { JSON_TASK, popEnv, runPopWithEnv } from '../support/fake-llm-server.js';
import { startFakeBatchServer } from '../support/fake-batch-server.js';
import { makeWorkspace, registryModule } from '../support/workspace.js';
it('dbg', async () => {
  const fake = await startFakeBatchServer({});
  const ws = await makeWorkspace({
    'pipeline.json': {
      name: 'b',
      tasks: [{ name: 'ask', model: 'llm:small', batch: true }],
      providers: { llm: { type: 'openai', baseURL: fake.openaiBaseURL, maxRetries: 0 } },
      batch: { windowMs: 0, pollMs: 100 },
    },
    'pipeline-tasks/index.js': registryModule(['ask']),
    'pipeline-tasks/ask.js': JSON_TASK,
    'pipeline-pending/q0.json': { q: 'Q0?' },
    'pipeline-pending/q1.json': { q: 'Q1?' },
  });
  const r = await runPopWithEnv(ws, ['start', '--once'], popEnv({ POP_CRASH_AT: 'before-batch-create' }), 60000);
  console.log(r.exitCode, r.signal, r.stderr);
  console.log(r.events.map((e) => JSON.stringify(e).slice(0, 200)).join('\n'));
  const r2 = await runPopWithEnv(ws, ['start', '--once'], popEnv(), 60000);
  console.log(r2.events.map((e) => JSON.stringify(e).slice(0, 200)).join('\n'));
  console.log(fake.batches.map((b) => b.requests.length));
}, 60000);
