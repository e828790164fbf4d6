/**
 * One provider budget shared by every task: calls waiting for it are served one task after
 * another, so a task flooding the gateway with calls cannot starve another run's single call.
 * Real manager and task processes, the official SDK, a local server.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { popInBackground } from './support/cli.js';
import { GOOD_VALUE, jsonReply, popEnv, slow, startFakeLlm } from './support/fake-llm-server.js';
import { makeWorkspace, registryModule, waitFor, type Workspace } from './support/workspace.js';

/** With `seed.flood`, asks for 1,000 calls at once before its own; else just its own. */
const CALLER_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ answer: z.string().min(1) }),
  prompt: async ({ seed }, ctx) => {
    if (seed.flood) {
      const ask = () => ctx.callModel([{ role: 'user', content: 'flood' }]).catch(() => undefined);
      await Promise.all(Array.from({ length: 1000 }, ask));
    }
    return 'Answer: ' + seed.q;
  },
});
`;

async function drop(ws: Workspace, name: string, seed: object): Promise<void> {
  const temp = join(ws.pending, `.${name}.tmp`);
  await writeFile(temp, JSON.stringify(seed));
  await rename(temp, join(ws.pending, `${name}.json`));
}

describe('fair turns within a provider budget', () => {
  it("a task's 1,000-call flood does not starve another run's single call: it is served within its time limit", async () => {
    const fake = await startFakeLlm();
    // Two at a time, 200 ms each: the flood alone holds the provider for 100 s.
    fake.always(slow(200, jsonReply(GOOD_VALUE)));
    const ws = await makeWorkspace({
      'pipeline.json': {
        name: 'fair',
        tasks: [{ name: 'ask', task: 'caller', model: 'oai:gpt-test', timeoutMs: 30_000 }],
        providers: { oai: { type: 'openai', baseURL: fake.openaiBaseURL, apiKeyEnv: 'OPENAI_API_KEY', limits: { concurrency: 2 } } },
      },
      'pipeline-tasks/index.js': registryModule(['caller']),
      'pipeline-tasks/caller.js': CALLER_TASK,
    });
    const daemon = popInBackground(ws, ['start', '--json', '--concurrency', '4'], {
      env: popEnv({ OPENAI_API_KEY: 'sk-test-fair' }),
      extendEnv: false,
      timeoutMs: 120_000,
    });
    try {
      await daemon.waitForEvent('manager-ready');
      await drop(ws, 'flood', { q: 'Flood?', flood: true });
      await waitFor(() => fake.requests.length >= 4, { description: 'the flood under way' });
      await drop(ws, 'single', { q: 'Why is the sea salty?' });
      const ended = await daemon.waitForEvent('run-complete', (line) => String(line.run).includes('-single-'));
      expect(ended.run).toContain('-single-');
      // The flood was still waiting when the single call was answered.
      expect(daemon.events().some((line) => line.event === 'run-complete' && String(line.run).includes('-flood-'))).toBe(false);
      expect(fake.maxInFlight()).toBeLessThanOrEqual(2);
    } finally {
      daemon.subprocess.kill('SIGTERM');
    }
    await daemon.done();
  }, 90_000);
});
