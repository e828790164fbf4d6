/**
 * The ledger with `start --queue`: a worker's gateway appends its calls to the same calls.jsonl on
 * the shared workspace, so a worker killed in the middle of a task loses none of the calls it made.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerOf } from './support/ledger.js';
import { fromRequest, jsonReply, popEnv, reply, slow, startFakeLlm, type RecordedRequest } from './support/fake-llm-server.js';
import { hasRedis, INSTALL_REDIS, queueProcesses } from './support/redis.js';
import { makeWorkspace, readRunRecords, registryModule, runDirs, waitFor } from './support/workspace.js';

const FAN_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ word: z.string().min(1) }),
  each: ({ seed }) => seed.words,
  prompt: (word) => 'echo: ' + word,
});
`;
const WORDS = Array.from({ length: 12 }, (_, index) => `word${index}`);

const { redis, background } = queueProcesses(() => ({ ...popEnv(), POP_QUEUE_LOCK_MS: '4000' }));

describe.skipIf(!hasRedis)(`the ledger through a queue (needs redis-server: ${INSTALL_REDIS})`, () => {
  it('a worker SIGKILLed in the middle of a fan-out: every call the server answered is counted', async () => {
    const fake = await startFakeLlm();
    const word = (request: RecordedRequest) => /echo: (\S+)/.exec(JSON.stringify(request.body.messages))?.[1] ?? '';
    fake.always(fromRequest((request) => slow(400, word(request) ? jsonReply({ word: word(request) }) : reply('?'))));
    const ws = await makeWorkspace({
      'pipeline.json': {
        name: 'queued-fan',
        tasks: [{ name: 'fan', model: 'oai:gpt-q', concurrency: 2 }],
        providers: { oai: { type: 'openai', baseURL: fake.openaiBaseURL, maxRetries: 0 } },
      },
      'pipeline-tasks/index.js': registryModule(['fan']),
      'pipeline-tasks/fan.js': FAN_TASK,
      'pipeline-pending/words.json': { words: WORDS },
    });
    const manager = background(ws, ['start', '--json', '--root', ws.root, '--queue', redis().url, '--once']);
    const first = background(ws, ['worker', '--queue', redis().url, '--root', ws.root, '--concurrency', '1']);
    const runDir = await waitFor(async () => {
      const [id] = await runDirs(ws.current);
      return id ? join(ws.current, id) : undefined;
    });
    const done = () => WORDS.filter((_, index) => existsSync(join(runDir, 'tasks', 'fan', 'items', String(index + 1).padStart(4, '0'), 'output.json'))).length;
    await waitFor(() => done() >= 4, { description: 'four items done on the first worker', timeoutMs: 60_000 });
    first.subprocess.kill('SIGKILL');
    await first.done();
    background(ws, ['worker', '--queue', redis().url, '--root', ws.root, '--concurrency', '1']);
    const ended = await manager.done();
    expect(ended.exitCode, ended.stderr).toBe(0);

    const [record] = await readRunRecords(ws);
    const answered = fake.requests.filter((request) => request.api && !request.abandoned).length;
    expect(answered).toBeGreaterThanOrEqual(WORDS.length);
    expect(record?.totals.calls).toBe(answered);
    const lines = await ledgerOf(join(ws.complete, record!.id), 'fan');
    // The first worker's calls are there, under attempt 1.
    expect(lines.filter((line) => line.attempt === 1 && line.outcome === 'answered').length).toBeGreaterThanOrEqual(4);
  });
});
