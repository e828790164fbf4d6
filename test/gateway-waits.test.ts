/**
 * A call that waits for its provider (a slot among the calls in flight, the spacing of requests,
 * room in the minute's tokens, the pause after a 429) and whose task gives up meanwhile: it leaves
 * the line at once and is never sent, and the manager stays idle and answers SIGTERM. Official
 * SDK, real manager and task processes, a local server.
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { popInBackground } from './support/cli.js';
import {
  GOOD_VALUE,
  JSON_TASK,
  jsonReply,
  logLines,
  popEnv,
  rateLimited,
  slow,
  startFakeLlm,
  type Behaviour,
  type FakeLlm,
} from './support/fake-llm-server.js';
import { GATED_TASK, makeWorkspace, registryModule, waitFor, type Workspace } from './support/workspace.js';

const KEY = 'sk-test-gateway-waits';

/**
 * Two tasks side by side: `first` calls at once; `second` calls once the test opens its gate, and
 * has a short time limit, which ends it while its call waits.
 */
async function sideBySide(fake: FakeLlm, limits: Record<string, number>, maxRetries = 2): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': {
      name: 'waits',
      tasks: [
        { name: 'first', task: 'ask', model: 'oai:gpt-first', timeoutMs: 60_000 },
        { name: 'second', task: 'gated', model: 'oai:gpt-second', timeoutMs: 6000, needs: [] },
      ],
      providers: { oai: { type: 'openai', baseURL: fake.openaiBaseURL, apiKeyEnv: 'OPENAI_API_KEY', maxRetries, limits } },
    },
    'pipeline-tasks/index.js': registryModule(['ask', 'gated']),
    'pipeline-tasks/ask.js': JSON_TASK,
    'pipeline-tasks/gated.js': GATED_TASK,
    'pipeline-pending/q.json': { q: 'Why is the sea salty?' },
  });
}

interface Case {
  wait: string;
  limits: Record<string, number>;
  maxRetries?: number;
  /** The first task's call, which makes the second's wait. */
  first: Behaviour;
  /** When the second task may call: once the first's call is answered, or while it is in flight. */
  gateAfter: 'first-request' | 'first-ended';
}

const cases: Case[] = [
  // The hang found first: concurrency 1, the second task's time limit ends its wait.
  { wait: 'concurrency', limits: { concurrency: 1 }, first: slow(10_000, jsonReply(GOOD_VALUE)), gateAfter: 'first-request' },
  { wait: 'requests-per-minute', limits: { requestsPerMinute: 1 }, first: jsonReply(GOOD_VALUE), gateAfter: 'first-ended' },
  { wait: 'tokens-per-minute', limits: { tokensPerMinute: 100 }, first: jsonReply(GOOD_VALUE), gateAfter: 'first-ended' },
  { wait: 'paused', limits: {}, maxRetries: 0, first: rateLimited('120'), gateAfter: 'first-ended' },
];

describe('a call aborted while it waits for its provider', () => {
  it.each(cases)(
    'waiting for $wait: leaves at once, is never sent, and the manager answers SIGTERM',
    async ({ wait, limits, maxRetries, first, gateAfter }) => {
      const fake = await startFakeLlm();
      fake.queueFor('gpt-first', first);
      fake.always(jsonReply(GOOD_VALUE));
      const ws = await sideBySide(fake, limits, maxRetries);
      const daemon = popInBackground(ws, ['start', '--json', '--concurrency', '2'], {
        env: popEnv({ OPENAI_API_KEY: KEY }),
        extendEnv: false,
        timeoutMs: 120_000,
      });
      try {
        if (gateAfter === 'first-request') await waitFor(() => fake.requestsFor('gpt-first').length === 1, { description: "the first task's request" });
        else await daemon.waitForEvent(first.kind === 'status' ? 'task-failed' : 'task-complete', (line) => line.task === 'first');
        await writeFile(ws.path('gate'), '');

        // The second task waited, and its time limit ended it while it did.
        await daemon.waitForEvent('task-waiting', (line) => line.task === 'second' && line.reason === wait);
        const ended = await daemon.waitForEvent('task-failed', (line) => line.task === 'second');
        expect(ended).toMatchObject({ reason: 'timeout' });
        // The run ends (the first task's slow reply included): the manager was never stuck.
        const run = await daemon.waitForEvent('run-failed');
        const log = await logLines(join(String(run.dir), 'tasks', 'second', 'task.log'));
        expect(log.filter((line) => line.event === 'model-waiting').map((line) => line.reason)).toContain(wait);
      } finally {
        daemon.subprocess.kill('SIGTERM');
      }
      const result = await daemon.done();
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.events.some((line) => line.event === 'manager-stopped')).toBe(true);
      // Never sent, not even after its wait would have ended.
      expect(fake.requestsFor('gpt-second')).toEqual([]);
    },
    90_000,
  );
});
