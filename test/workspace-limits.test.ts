/**
 * Provider limits belong to the workspace: the current pipeline.json sets them (reloaded with it),
 * whatever pipeline snapshot a run carries. Real manager, task processes and CLI; official SDK.
 */
import { describe, expect, it } from 'vitest';
import { pop, popInBackground } from './support/cli.js';
import { GOOD_VALUE, JSON_TASK, jsonReply, popEnv, slow, startFakeLlm, unauthorized, type FakeLlm } from './support/fake-llm-server.js';
import { makeWorkspace, registryModule, replaceFile, runDirs } from './support/workspace.js';

const env = () => popEnv({ OPENAI_API_KEY: 'sk-test-workspace-limits' });
const TASKS = ['a', 'b', 'c', 'd', 'e', 'f'];

/** Six tasks side by side, each with one call to `oai`, with these provider limits. */
function pipeline(fake: FakeLlm, limits?: Record<string, number>) {
  return {
    name: 'limits',
    tasks: TASKS.map((name) => ({ name, task: 'ask', model: 'oai:gpt-test', needs: [] })),
    providers: { oai: { type: 'openai', baseURL: fake.openaiBaseURL, apiKeyEnv: 'OPENAI_API_KEY', maxRetries: 0, ...(limits ? { limits } : {}) } },
  };
}

describe('provider limits come from the current pipeline.json', () => {
  it('a run whose snapshot has no limits, resumed after they were added, keeps to them: one call at a time', async () => {
    const fake = await startFakeLlm();
    // The first time, every call fails: the run stays in pipeline-current/ with its snapshot.
    fake.always(unauthorized());
    const ws = await makeWorkspace({
      'pipeline.json': pipeline(fake),
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': JSON_TASK,
      'pipeline-pending/q.json': { q: 'Why is the sea salty?' },
    });
    // One task at a time here, so the most calls in flight the server sees are the resumed run's.
    const first = await pop(ws, ['start', '--once', '--json', '--concurrency', '1'], { env: env(), extendEnv: false });
    expect(first.exitCode, first.stderr).toBe(1);
    const [run] = await runDirs(ws.current);

    fake.always(slow(300, jsonReply(GOOD_VALUE)));
    const daemon = popInBackground(ws, ['start', '--json', '--concurrency', '6'], { env: env(), extendEnv: false, timeoutMs: 120_000 });
    try {
      await daemon.waitForEvent('manager-ready');
      // The limit is added while the manager runs: it takes it in with the reloaded pipeline.json.
      await replaceFile(ws.pipelineFile, JSON.stringify(pipeline(fake, { concurrency: 1 })));
      await daemon.waitForEvent('pipeline-reloaded');
      const handed = await pop(ws, ['resume', String(run)], { env: env(), extendEnv: false });
      expect(handed.exitCode, handed.stderr).toBe(0);
      await daemon.waitForEvent('run-complete');
    } finally {
      daemon.subprocess.kill('SIGTERM');
    }
    await daemon.done();
    expect(fake.requests).toHaveLength(12);
    expect(fake.maxInFlight()).toBe(1);
  }, 120_000);

  it('a run resumed in the foreground (no manager) keeps to the limits of the current pipeline.json too', async () => {
    const fake = await startFakeLlm();
    fake.always(unauthorized());
    const ws = await makeWorkspace({
      'pipeline.json': pipeline(fake),
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': JSON_TASK,
      'pipeline-pending/q.json': { q: 'Why is the sea salty?' },
    });
    const first = await pop(ws, ['start', '--once', '--json', '--concurrency', '1'], { env: env(), extendEnv: false });
    expect(first.exitCode, first.stderr).toBe(1);
    const [run] = await runDirs(ws.current);

    fake.always(slow(300, jsonReply(GOOD_VALUE)));
    await replaceFile(ws.pipelineFile, JSON.stringify(pipeline(fake, { concurrency: 1 })));
    // Its six tasks side by side, with no manager's --concurrency to hold them back.
    const resumed = await pop(ws, ['resume', String(run)], { env: env(), extendEnv: false, timeoutMs: 90_000 });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(fake.requests).toHaveLength(12);
    expect(fake.maxInFlight()).toBe(1);
  }, 120_000);
});
