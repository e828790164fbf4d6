/**
 * Model calls leave the task process: the manager's gateway makes them with the official SDKs
 * against a local server speaking their wire format. Task processes hold no key; a task killed
 * in the middle of a call has its request aborted.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import { GOOD_VALUE, jsonReply, llmWorkspace, onlyRun, popEnv, runPopWithEnv, slow, startFakeLlm } from './support/fake-llm-server.js';
import { popInBackground } from './support/cli.js';
import { readJson, readValid, replaceFile, waitFor } from './support/workspace.js';

const KEY = 'sk-test-s3cret-marker-openai';
const CUSTOM_KEY = 'custom-s3cret-marker-key';

/** A task that records what of the environment it can see, then lets the default inference run. */
const ENV_READING_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ answer: z.string().min(1), confidence: z.number().min(0).max(1) }),
  prompt: async ({ seed }, ctx) => {
    const keys = Object.entries(process.env).filter(([, value]) => typeof value === 'string' && /s3cret-marker/.test(value));
    await ctx.writeArtifact('env.json', { names: Object.keys(process.env), keyed: keys.map(([name]) => name) });
    return String(seed.q);
  },
});
`;

/** A task that tells where its process is, so the test can kill it in the middle of its call. */
const PID_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ answer: z.string().min(1), confidence: z.number().min(0).max(1) }),
  prompt: async ({ seed }, ctx) => {
    await ctx.writeArtifact('pid-' + ctx.attempt + '.txt', String(process.pid));
    return String(seed.q);
  },
});
`;

describe('the gateway', () => {
  it('keeps provider keys out of task processes while every call is still authenticated', async () => {
    const fake = await startFakeLlm();
    fake.always(jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, {
      model: ['oai:gpt-test'],
      module: ENV_READING_TASK,
      task: { name: 'ask' },
      extraProviders: { custom: { type: 'openai', baseURL: fake.openaiBaseURL, apiKeyEnv: 'MY_CUSTOM_TOKEN' } },
      pipeline: {
        tasks: [
          { name: 'ask', model: 'oai:gpt-test' },
          { name: 'again', task: 'ask', model: 'custom:gpt-custom' },
        ],
      },
    });

    const result = await runPopWithEnv(
      ws,
      ['start', '--once'],
      popEnv({ OPENAI_API_KEY: KEY, MY_CUSTOM_TOKEN: CUSTOM_KEY, VENDOR_API_KEY: 'vendor-s3cret-marker' }),
    );
    expect(result.exitCode, result.stderr).toBe(0);

    const runDir = await onlyRun(ws, 'complete');
    for (const task of ['ask', 'again']) {
      const seen = (await readJson(join(runDir, 'tasks', task, 'env.json'))) as { names: string[]; keyed: string[] };
      expect(seen.names).not.toContain('OPENAI_API_KEY');
      expect(seen.names).not.toContain('MY_CUSTOM_TOKEN');
      expect(seen.names).not.toContain('VENDOR_API_KEY');
      expect(seen.keyed).toEqual([]);
      // The rest of the environment is still there.
      expect(seen.names).toContain('PATH');
    }
    expect(fake.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${KEY}`, `Bearer ${CUSTOM_KEY}`]);
  });

  it('a warm task process started before pipeline.json named its key variable is never handed a task; every variable named like a secret is kept from tasks', async () => {
    const fake = await startFakeLlm();
    fake.always(jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-test', module: ENV_READING_TASK });
    const env = popEnv({ OPENAI_API_KEY: KEY, ACME_LICENSE: 'acme-s3cret-marker-license', ACME_SESSION_SECRET: 'session-s3cret-marker' });
    const daemon = popInBackground(ws, ['start', '--json'], { env, extendEnv: false, timeoutMs: 60_000 });
    try {
      await daemon.waitForEvent('run-complete');
      // Now a provider reads its key from ACME_LICENSE, which the warm processes started with.
      const pipeline = JSON.parse(await readFile(ws.path('pipeline.json'), 'utf8')) as {
        tasks: Array<Record<string, unknown>>;
        providers: Record<string, unknown>;
      };
      pipeline.providers.acme = { type: 'openai', baseURL: fake.openaiBaseURL, apiKeyEnv: 'ACME_LICENSE' };
      pipeline.tasks = [{ name: 'ask', model: 'acme:gpt-acme' }];
      await replaceFile(ws.path('pipeline.json'), JSON.stringify(pipeline));
      await daemon.waitForEvent('pipeline-reloaded');
      await writeFile(ws.path('pipeline-pending', 'again.json'), JSON.stringify({ q: 'Again?' }));
      const done = await daemon.waitForEvent('run-complete', (line) => String(line.run).includes('-again-'));
      const seen = (await readJson(join(String(done.dir), 'tasks', 'ask', 'env.json'))) as { names: string[]; keyed: string[] };
      expect(seen.keyed).toEqual([]);
      expect(seen.names).not.toContain('ACME_LICENSE');
      expect(seen.names).not.toContain('ACME_SESSION_SECRET');
      expect(fake.requests.at(-1)?.headers.authorization).toBe('Bearer acme-s3cret-marker-license');
    } finally {
      daemon.subprocess.kill('SIGTERM');
      await daemon.done();
    }
  });

  it('aborts the request of a task killed in the middle of its call; the retried attempt completes', async () => {
    const fake = await startFakeLlm();
    fake.queue(slow(60_000, jsonReply(GOOD_VALUE)));
    fake.always(jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-test', module: PID_TASK });

    const run = runPopWithEnv(ws, ['start', '--once'], popEnv({ OPENAI_API_KEY: KEY }));
    await waitFor(() => fake.requests.length === 1, { description: 'the first request to arrive' });
    const taskDir = join(
      ws.current,
      (await waitFor(async () =>
        (await import('node:fs/promises')).readdir(ws.current).then((names) => names.find((name) => !name.startsWith('.'))),
      )) as string,
      'tasks',
      'ask',
    );
    const pid = Number(await readFile(join(taskDir, 'pid-1.txt'), 'utf8'));
    process.kill(pid, 'SIGKILL');

    await waitFor(() => fake.requests[0]?.abandoned, { timeoutMs: 10_000, description: 'the request of the killed task to be abandoned' });
    const result = await run;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.requests).toHaveLength(2);
    const runDir = await onlyRun(ws, 'complete');
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask).toMatchObject({ state: 'complete', attempts: 2 });
  });
});
