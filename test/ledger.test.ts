/**
 * The ledger: every provider call recorded by the gateway in tasks/<task>/calls.jsonl, before its
 * answer reaches the task; every figure of usage and cost summed from it, whatever became of the
 * attempt (interrupted, killed, timed out); a call cache that keeps only validated answers; fan-out
 * items reused only for the very same call; `pop cost`. Real processes against the fake server.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerOf } from './support/ledger.js';
import { ItemOutputSchema } from '../src/formats/items.js';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import { pop } from './support/cli.js';
import {
  cutJsonReply,
  fromRequest,
  GOOD_VALUE,
  JSON_TASK,
  jsonReply,
  llmWorkspace,
  onlyRun,
  popEnv,
  reply,
  runPopWithEnv,
  serverError,
  slow,
  startFakeLlm,
  type Behaviour,
  type FakeLlm,
  type RecordedRequest,
} from './support/fake-llm-server.js';
import { makeWorkspace, readRunRecords, readValid, registryModule, runDirs, startDaemon, waitFor, type Workspace } from './support/workspace.js';

const FAN_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ word: z.string().min(1), n: z.number().int() }),
  each: ({ seed }) => seed.words,
  prompt: (word, ctx) => ({ system: 'Echo the word as JSON.', user: \`item \${ctx.item.index + 1} of \${ctx.item.count}: \${word}\` }),
  validate: (value, ctx) => (value.n === ctx.item.index ? [] : \`n must be \${ctx.item.index}\`),
  finalize: (values) => ({ words: values.map((value) => value.word) }),
});
`;
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];

/** Echoes the item's word and index; the word `never` gets a wrong index unless `fixed` says the model can do it. */
function echoItem(request: RecordedRequest, fixed: (model: string | undefined) => boolean = () => false): Behaviour {
  const messages = request.body.messages as Array<{ role: string; content: string }>;
  const match = /^item (\d+) of \d+: (\S+)$/.exec(messages.find((message) => message.role === 'user')?.content ?? '');
  if (!match) return reply('not an item');
  const [, position, word] = match;
  const n = word === 'never' && !fixed(request.model) ? -1 : Number(position) - 1;
  return jsonReply({ word, n }, { input: 11, output: 7 });
}

/** FAN_TASK that leaves its process id in <workspace>/task-<attempt>.pid. */
const PID_FAN_TASK = `import { writeFileSync } from 'node:fs';
${FAN_TASK.replace('each: ({ seed }) => seed.words,', "each: ({ seed }, ctx) => (writeFileSync(new URL('../task-' + ctx.attempt + '.pid', import.meta.url), String(process.pid)), seed.words),")}`;

function fanWorkspace(
  fake: FakeLlm,
  options: { words?: string[]; task?: Record<string, unknown>; pipeline?: Record<string, unknown>; module?: string } = {},
): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': {
      name: 'fan-out',
      tasks: [{ name: 'fan', model: 'oai:gpt-fan', ...options.task }],
      providers: { oai: { type: 'openai', baseURL: fake.openaiBaseURL, maxRetries: 0 } },
      ...options.pipeline,
    },
    'pipeline-tasks/index.js': registryModule(['fan']),
    'pipeline-tasks/fan.js': options.module ?? FAN_TASK,
    'pipeline-pending/words.json': { words: options.words ?? WORDS },
  });
}

const env = () => popEnv({ OPENAI_API_KEY: 'sk-test-ledger-key-0001', ANTHROPIC_API_KEY: 'sk-ant-test-ledger-key-0002' });
const start = (ws: Workspace) => runPopWithEnv(ws, ['start', '--once'], env());
const answered = (fake: FakeLlm) => fake.requests.filter((request) => request.api && !request.abandoned).length;
const itemOutputs = (runDir: string) =>
  WORDS.filter((_, index) => existsSync(join(runDir, 'tasks', 'fan', 'items', String(index + 1).padStart(4, '0'), 'output.json'))).length;

async function theRunDir(ws: Workspace): Promise<string> {
  return waitFor(async () => {
    const [id] = await runDirs(ws.current);
    return id ? join(ws.current, id) : undefined;
  });
}

describe('the ledger', () => {
  it('a fan-out run interrupted with SIGINT and started again counts every call the server answered', async () => {
    const fake = await startFakeLlm();
    let interrupted = false;
    // Items 5 on hang until the interruption: it lands with 4 items done and 2 calls in flight.
    fake.always(
      fromRequest((request) =>
        !interrupted && /: (echo|foxtrot|golf|hotel|india|juliet)"/.test(JSON.stringify(request.body.messages))
          ? slow(60_000)
          : slow(20, fromRequest(echoItem)),
      ),
    );
    const ws = await fanWorkspace(fake, { task: { concurrency: 2 } });

    const daemon = await startDaemon(ws, []);
    const runDir = await theRunDir(ws);
    await waitFor(() => itemOutputs(runDir) >= 4 && fake.requests.length >= 6, { description: 'four items done, two in flight' });
    daemon.signal('SIGINT');
    const stopped = await daemon.exit();
    expect(stopped.exitCode, stopped.stderr).not.toBeNull();
    interrupted = true;

    const result = await start(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    const finished = await onlyRun(ws, 'complete');
    const [record] = await readRunRecords(ws);
    // Answered: 4 before the interruption, 6 after; the 2 cut off in flight are recorded as aborted.
    expect(answered(fake)).toBe(10);
    expect(record?.totals).toMatchObject({ calls: 10, inputTokens: 110, outputTokens: 70, abortedCalls: 2 });
    const lines = await ledgerOf(finished, 'fan');
    expect(lines.filter((line) => line.outcome === 'answered').map((line) => line.attempt)).toEqual(expect.arrayContaining([1, 1, 1, 1, 2, 2, 2, 2, 2, 2]));
    expect(lines.filter((line) => line.outcome === 'aborted')).toHaveLength(2);
    expect(new Set(lines.filter((line) => line.outcome === 'answered').map((line) => line.item))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(lines.every((line) => line.run === record?.id && line.task === 'fan' && line.modelAsked === 'oai:gpt-fan' && line.model === 'oai:gpt-fan')).toBe(
      true,
    );
    const status = await readValid(RunStatusSchema, join(finished, 'tasks-status.json'));
    expect(status.tasks.fan?.usage).toMatchObject({ calls: 10, abortedCalls: 2 });
    expect(status.tasks.fan?.byModel?.['oai:gpt-fan']).toMatchObject({ calls: 10 });
    // Its duration is the time a manager worked on it, not the span since it was first started.
    expect(record!.durationMs).toBeLessThanOrEqual(record!.wallMs!);
  });

  it('a task process SIGKILLed after some items, and one that runs out of time: their answered calls are counted', async () => {
    const fake = await startFakeLlm();
    let killed = false;
    fake.always(
      fromRequest((request) => (!killed && /: (golf|hotel|india|juliet)"/.test(JSON.stringify(request.body.messages)) ? slow(60_000) : fromRequest(echoItem))),
    );
    const ws = await fanWorkspace(fake, { task: { concurrency: 2 }, module: PID_FAN_TASK });
    const daemon = await startDaemon(ws, []);
    const runDir = await theRunDir(ws);
    await waitFor(() => itemOutputs(runDir) >= 6 && fake.requests.length >= 8, { description: 'six items done, two in flight' });
    process.kill(Number(await readFile(ws.path('task-1.pid'), 'utf8')), 'SIGKILL');
    killed = true;
    await daemon.waitForEvent('run-complete');
    await daemon.stop();
    const finished = await onlyRun(ws, 'complete');
    const [record] = await readRunRecords(ws);
    expect(answered(fake)).toBe(10);
    expect(record?.totals.calls).toBe(10);
    expect((await ledgerOf(finished, 'fan')).filter((line) => line.outcome === 'answered' && line.attempt === 1)).toHaveLength(6);

    // A time limit: the attempt ends as timeout, and the calls it made are still the task's.
    const slowFake = await startFakeLlm();
    slowFake.always(
      fromRequest((request) =>
        /: (echo|foxtrot|golf|hotel|india|juliet)"/.test(JSON.stringify(request.body.messages)) ? slow(60_000) : fromRequest(echoItem),
      ),
    );
    const timed = await fanWorkspace(slowFake, { task: { concurrency: 2, timeoutMs: 3000 } });
    const failed = await start(timed);
    expect(failed.exitCode).toBe(1);
    const failedRun = await onlyRun(timed, 'current');
    const status = await readValid(RunStatusSchema, join(failedRun, 'tasks-status.json'));
    expect(status.tasks.fan).toMatchObject({
      state: 'failed',
      error: { reason: 'timeout' },
      usage: { calls: 4, inputTokens: 44, outputTokens: 28, abortedCalls: 2 },
    });
    const shown = await runPopWithEnv(timed, ['status', status.id], env());
    expect(shown.stdout).toMatch(/fan\s+failed\s+1\s+0\s+4\/10/);
  });

  it('never caches a reply cut off by the token limit, nor one the quality check rejected', async () => {
    const fake = await startFakeLlm();
    fake.queue(cutJsonReply(GOOD_VALUE));
    fake.always(jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-test', pipeline: { defaults: { cache: true } } });
    expect((await start(ws)).exitCode).toBe(0);
    expect(fake.requests).toHaveLength(2);
    const first = await readValid(RunStatusSchema, join(await onlyRun(ws, 'complete'), 'tasks-status.json'));
    expect(first.tasks.ask).toMatchObject({ refinements: 1, usage: { calls: 2 } });

    // The same seed again: the cut reply was not kept, so the first call is asked again and validates.
    await writeFile(join(ws.pending, 'again.json'), JSON.stringify({ q: 'Why is the sea salty?' }));
    expect((await start(ws)).exitCode).toBe(0);
    expect(fake.requests).toHaveLength(3);
    const runs = await readRunRecords(ws);
    const again = runs.find((run) => run.seed === 'again.json')!;
    expect(again.tasks[0]).toMatchObject({ refinements: 0, usage: { calls: 1 } });

    // A third time: the validated answer is served from the cache.
    await writeFile(join(ws.pending, 'third.json'), JSON.stringify({ q: 'Why is the sea salty?' }));
    expect((await start(ws)).exitCode).toBe(0);
    expect(fake.requests).toHaveLength(3);
    const third = (await readRunRecords(ws)).find((run) => run.seed === 'third.json')!;
    expect(third.totals).toMatchObject({ calls: 0, cachedCalls: 1 });
    expect((await runPopWithEnv(ws, ['runs'], env())).stdout).toContain('1 (1 cached)');

    // A reply the task's quality check rejects is never kept either.
    const picky = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ answer: z.string().min(1), confidence: z.number().min(0).max(1) }),
  prompt: ({ seed }) => String(seed.q),
  validate: (value) => (value.confidence >= 0.5 ? [] : 'not confident enough'),
});
`;
    const fussy = await startFakeLlm();
    fussy.queue(jsonReply({ ...GOOD_VALUE, confidence: 0.1 }));
    fussy.always(jsonReply(GOOD_VALUE));
    const ws2 = await llmWorkspace(fussy, { model: 'oai:gpt-test', module: picky, pipeline: { defaults: { cache: true } } });
    expect((await start(ws2)).exitCode).toBe(0);
    expect(fussy.requests).toHaveLength(2);
    await writeFile(join(ws2.pending, 'again.json'), JSON.stringify({ q: 'Why is the sea salty?' }));
    expect((await start(ws2)).exitCode).toBe(0);
    expect(fussy.requests).toHaveLength(3);
    expect((await readRunRecords(ws2)).find((run) => run.seed === 'again.json')!.tasks[0]).toMatchObject({ refinements: 0 });
  });

  it('after resume --pipeline with a changed model every item is asked again; with only the quality check changed the validated items are kept', async () => {
    const fake = await startFakeLlm();
    fake.always(fromRequest((request) => echoItem(request, (model) => model === 'gpt-new')));
    const words = ['alpha', 'bravo', 'charlie', 'never'];
    const ws = await fanWorkspace(fake, { words, task: { concurrency: 1, maxRefinements: 0 } });
    expect((await start(ws)).exitCode).toBe(1);
    const runDir = await onlyRun(ws, 'current');
    const id = runDir.split('/').at(-1)!;
    expect(fake.requestsFor('gpt-fan')).toHaveLength(4);

    const pipeline = JSON.parse(await readFile(ws.pipelineFile, 'utf8'));
    pipeline.tasks[0].model = 'oai:gpt-new';
    await writeFile(ws.pipelineFile, JSON.stringify(pipeline));
    const resumed = await runPopWithEnv(ws, ['resume', id, '--pipeline'], env());
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(fake.requestsFor('gpt-new')).toHaveLength(4);
    const finished = await onlyRun(ws, 'complete');
    const outputs = await Promise.all(
      ['0001', '0002', '0003', '0004'].map((item) => readValid(ItemOutputSchema, join(finished, 'tasks', 'fan', 'items', item, 'output.json'))),
    );
    expect(outputs.map((output) => output.model)).toEqual(['oai:gpt-new', 'oai:gpt-new', 'oai:gpt-new', 'oai:gpt-new']);
    expect((await readRunRecords(ws))[0]?.totals).toMatchObject({ calls: 8 });

    // Only the quality check changed: the three validated items are reused, the fourth is asked again.
    const fake2 = await startFakeLlm();
    fake2.always(fromRequest((request) => echoItem(request)));
    const ws2 = await fanWorkspace(fake2, { words, task: { concurrency: 1, maxRefinements: 0 } });
    expect((await start(ws2)).exitCode).toBe(1);
    const id2 = (await onlyRun(ws2, 'current')).split('/').at(-1)!;
    await writeFile(
      ws2.path('pipeline-tasks', 'fan.js'),
      FAN_TASK.replace('value.n === ctx.item.index', 'value.n === ctx.item.index || value.word === "never"'),
    );
    const again = await runPopWithEnv(ws2, ['resume', id2], env());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(fake2.requests).toHaveLength(5);
    expect(fake2.requests.slice(4).map((request) => JSON.stringify(request.body.messages))).toEqual([expect.stringContaining('never')]);
  });

  it('a torn ledger line is skipped with a warning and the rest still count; an unreadable ledger is said, not a crash', async () => {
    const fake = await startFakeLlm();
    fake.always(jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-test' });
    expect((await start(ws)).exitCode).toBe(0);
    const runDir = await onlyRun(ws, 'complete');
    const id = runDir.split('/').at(-1)!;
    const ledger = join(runDir, 'tasks', 'ask', 'calls.jsonl');
    // A crash in the middle of an append leaves half a line.
    await writeFile(ledger, `${await readFile(ledger, 'utf8')}{"run":"${id}","task":"ask","att`);
    const shown = await runPopWithEnv(ws, ['status', id], env());
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toMatch(/ask\s+complete\s+1\s+0\s+\S+( \S+)?\s+11\/7\s+1\s/);
    expect(shown.stdout).toContain('ledger: ask: 1 torn line(s) of calls.jsonl skipped');
    const cost = await pop(ws, ['cost', '--json']);
    expect(JSON.parse(cost.stdout).total.calls).toBe(1);
    expect(cost.stderr).toContain('1 torn ledger line(s) skipped');

    await rm(ledger);
    await mkdir(ledger);
    const unreadable = await runPopWithEnv(ws, ['status', id], env());
    expect(unreadable.exitCode).toBe(0);
    expect(unreadable.stdout).toMatch(/ledger: ask: .*calls\.jsonl could not be read/);
  });

  it('a call whose ledger line cannot be written is said in task.log, and its answer still reaches the task', async () => {
    const fake = await startFakeLlm();
    fake.queue(serverError());
    fake.always(jsonReply(GOOD_VALUE));
    const ws = await llmWorkspace(fake, { model: 'oai:gpt-test', providers: { oai: { maxRetries: 0 } } });
    expect((await start(ws)).exitCode).toBe(1);
    const runDir = await onlyRun(ws, 'current');
    const ledger = join(runDir, 'tasks', 'ask', 'calls.jsonl');
    await rm(ledger);
    await mkdir(ledger);
    const resumed = await runPopWithEnv(ws, ['resume', runDir.split('/').at(-1)!], env());
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const log = await readFile(join(await onlyRun(ws, 'complete'), 'tasks', 'ask', 'task.log'), 'utf8');
    expect(log).toMatch(/"event":"ledger-write-failed".*EISDIR/);
  });

  it('prices cached input tokens at cachedInputPerMillion; pop cost sums match the server', async () => {
    const fake = await startFakeLlm();
    fake.always(jsonReply(GOOD_VALUE, { input: 1000, output: 100, cached: 800 }));
    const ws = await makeWorkspace({
      'pipeline.json': {
        name: 'priced',
        tasks: [
          { name: 'ask', model: 'oai:gpt-test' },
          { name: 'check', task: 'ask', model: 'anth:claude-test', needs: [] },
        ],
        providers: {
          oai: { type: 'openai', baseURL: fake.openaiBaseURL, maxRetries: 0 },
          anth: { type: 'anthropic', baseURL: fake.anthropicBaseURL, maxRetries: 0 },
        },
        prices: {
          'oai:gpt-test': { inputPerMillion: 1, cachedInputPerMillion: 0.1, outputPerMillion: 2 },
          'anth:claude-test': { inputPerMillion: 3, cachedInputPerMillion: 0.3, outputPerMillion: 15 },
        },
      },
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': JSON_TASK,
      'pipeline-pending/a.json': { q: 'one' },
      'pipeline-pending/b.json': { q: 'two' },
    });
    expect((await start(ws)).exitCode).toBe(0);
    const oaiCost = (200 * 1 + 800 * 0.1 + 100 * 2) / 1e6;
    const anthCost = (200 * 3 + 800 * 0.3 + 100 * 15) / 1e6;
    const records = await readRunRecords(ws);
    for (const record of records) {
      expect(record.totals).toMatchObject({ calls: 2, inputTokens: 2000, outputTokens: 200, cachedInputTokens: 1600 });
      expect(record.totals.costUsd).toBeCloseTo(oaiCost + anthCost, 12);
      expect(record.totals.byModel?.['oai:gpt-test']?.costUsd).toBeCloseTo(oaiCost, 12);
    }

    const cost = await pop(ws, ['cost', '--by', 'model', '--json']);
    expect(cost.exitCode, cost.stderr).toBe(0);
    const report = JSON.parse(cost.stdout);
    const served = (model: string) => fake.requestsFor(model).length;
    expect(report.rows).toEqual([
      expect.objectContaining({
        model: 'anth:claude-test',
        calls: served('claude-test'),
        inputTokens: 1000 * served('claude-test'),
        cachedInputTokens: 800 * served('claude-test'),
      }),
      expect.objectContaining({ model: 'oai:gpt-test', calls: served('gpt-test'), outputTokens: 100 * served('gpt-test') }),
    ]);
    expect(report.total.calls).toBe(fake.requests.length);
    expect(report.total.costUsd).toBeCloseTo(2 * (oaiCost + anthCost), 12);
    const table = await pop(ws, ['cost', '--by', 'task']);
    expect(table.stdout).toMatch(/priced\/ask\s+2\s+0\s+0\s+2000\/200\s+1600/);
    expect(table.stdout).toMatch(/TOTAL\s+4\s/);
    expect((await pop(ws, ['cost', '--since', 'soon'])).exitCode).toBe(2);
    expect(JSON.parse((await pop(ws, ['cost', '--by', 'day', '--json', '--since', '1d'])).stdout).rows).toHaveLength(1);
  });
});
