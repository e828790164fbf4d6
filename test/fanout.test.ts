/**
 * Fan-out inside a task (`each`): per-item stages and artifacts, refinement per item, failed
 * items, reuse of finished items across a SIGKILL of the manager, `ctx.callModel` with per-call
 * options, and truncation recorded. The official openai SDK against a local server that answers
 * each request from its own content, since the items' requests arrive concurrently.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LiveProgress } from '../src/cli/live-progress.js';
import { ItemOutputSchema, ItemsFileSchema } from '../src/formats/items.js';
import { OutputSchema } from '../src/formats/output.js';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import {
  fromRequest,
  jsonReply,
  logLines,
  onlyRun,
  popEnv,
  reply,
  runPopWithEnv,
  slow,
  startFakeLlm,
  type Behaviour,
  type FakeLlm,
  type RecordedRequest,
} from './support/fake-llm-server.js';
import {
  killDaemonHard,
  listDir,
  makeWorkspace,
  readJson,
  readRunRecords,
  readValid,
  registryModule,
  runDirs,
  startDaemon,
  waitFor,
  type Workspace,
} from './support/workspace.js';

/** Each item is a word; the model must echo it with the item's index. */
const FAN_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ word: z.string().min(1), n: z.number().int() }),
  each: ({ seed }) => seed.words,
  prompt: (word, ctx) => ({ system: 'Echo the word as JSON.', user: \`item \${ctx.item.index + 1} of \${ctx.item.count}: \${word}\` }),
  validate: (value, ctx) => (value.n === ctx.item.index ? [] : \`n must be \${ctx.item.index}\`),
  finalize: (values, ctx) => ({ words: values.map((value) => value.word), failed: ctx.failedItems.map((item) => item.item) }),
});
`;

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
const USAGE = { input: 11, output: 7 };

/**
 * The model: echoes the item's word and index. The word `never` always gets a wrong index; the word
 * `bad-once` gets a reply cut off mid-JSON the first time (no refinement feedback in the messages yet).
 */
function echoItem(request: RecordedRequest): Behaviour {
  const messages = request.body.messages as Array<{ role: string; content: string }>;
  const match = /^item (\d+) of \d+: (\S+)$/.exec(messages.find((message) => message.role === 'user')?.content ?? '');
  if (!match) return reply('not an item');
  const [, position, word] = match;
  const n = Number(position) - 1;
  if (word === 'never') return jsonReply({ word, n: -1 }, USAGE);
  if (word === 'bad-once' && messages.length <= 2) return { kind: 'reply', text: '{ "word": "bad-', usage: USAGE, finish: 'length' };
  return jsonReply({ word, n }, USAGE);
}

function fanWorkspace(
  fake: FakeLlm,
  options: { words?: string[]; task?: Record<string, unknown>; module?: string; pipeline?: Record<string, unknown> } = {},
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

const env = () => popEnv();
const start = (ws: Workspace) => runPopWithEnv(ws, ['start', '--once'], env());
const itemDir = (runDir: string, item: string) => join(runDir, 'tasks', 'fan', 'items', item);
const folders = (count: number) => Array.from({ length: count }, (_, index) => String(index + 1).padStart(4, '0'));

describe('fan-out inside a task', () => {
  it('runs stages 3–7 once per item, leaves every item its artifacts, and adds up usage over the items', async () => {
    const fake = await startFakeLlm();
    fake.always(slow(50, fromRequest(echoItem)));
    const ws = await fanWorkspace(fake, { pipeline: { prices: { 'oai:gpt-fan': { inputPerMillion: 1_000_000, outputPerMillion: 1_000_000 } } } });

    const result = await start(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    const runDir = await onlyRun(ws, 'complete');
    const taskDir = join(runDir, 'tasks', 'fan');

    const itemsFile = await readValid(ItemsFileSchema, join(taskDir, '02-items.json'));
    expect(itemsFile.count).toBe(12);
    expect(itemsFile.items.map((item) => item.value)).toEqual(WORDS);
    expect(itemsFile.items.every((item) => /^[0-9a-f]{64}$/.test(item.sha256))).toBe(true);

    expect(await listDir(join(taskDir, 'items'))).toEqual(folders(12));
    let itemUsage = { inputTokens: 0, outputTokens: 0, calls: 0 };
    for (const [index, item] of folders(12).entries()) {
      expect(await listDir(itemDir(runDir, item))).toEqual([
        '03-prompt.json',
        '03-prompt.md',
        '04-response.json',
        '05-parsed.json',
        '06-validation.json',
        'output.json',
      ]);
      const output = await readValid(ItemOutputSchema, join(itemDir(runDir, item), 'output.json'));
      expect(output).toMatchObject({
        index,
        item,
        value: { word: WORDS[index], n: index },
        model: 'oai:gpt-fan',
        refinements: 0,
        attempt: 1,
        sha256: itemsFile.items[index]!.sha256,
      });
      itemUsage = {
        inputTokens: itemUsage.inputTokens + output.usage.inputTokens,
        outputTokens: itemUsage.outputTokens + output.usage.outputTokens,
        calls: itemUsage.calls + output.usage.calls,
      };
      expect(await readJson(join(itemDir(runDir, item), '03-prompt.json'))).toMatchObject({
        messages: [{ role: 'system' }, { role: 'user', content: `item ${index + 1} of 12: ${WORDS[index]}` }],
      });
    }

    // One request per item, never more than `concurrency` (default 4) at once.
    expect(fake.requests).toHaveLength(12);
    expect(fake.maxInFlight()).toBeLessThanOrEqual(4);
    expect(itemUsage).toEqual({ inputTokens: 12 * 11, outputTokens: 12 * 7, calls: 12 });

    const output = await readValid(OutputSchema, join(taskDir, 'output.json'));
    expect(output).toMatchObject({
      value: { words: WORDS, failed: [] },
      usage: itemUsage,
      costUsd: 12 * 18,
      refinements: 0,
      items: { total: 12, complete: 12, failed: 0, reused: 0, failedItems: [] },
    });
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.fan).toMatchObject({ state: 'complete', usage: itemUsage, costUsd: 12 * 18, items: { total: 12, complete: 12, failed: 0 } });
    expect((await readRunRecords(ws))[0]?.totals).toMatchObject({ calls: 12, inputTokens: 132, outputTokens: 84 });
    // The task's output comes last.
    const written = await Promise.all(
      [...folders(12).map((item) => join(itemDir(runDir, item), 'output.json')), join(taskDir, 'output.json')].map((path) => readJson(path)),
    );
    const finished = written.map((value) => Date.parse((value as { finishedAt: string }).finishedAt));
    expect(Math.max(...finished.slice(0, 12))).toBeLessThanOrEqual(finished[12]!);
  });

  it('refines a bad item reply on its own: only that item gets a second call', async () => {
    const fake = await startFakeLlm();
    fake.always(fromRequest(echoItem));
    const words = WORDS.slice(0, 8).map((word, index) => (index === 4 ? 'bad-once' : word));
    const ws = await fanWorkspace(fake, { words });

    const result = await start(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    const runDir = await onlyRun(ws, 'complete');

    for (const item of folders(8)) {
      const files = await listDir(itemDir(runDir, item));
      if (item === '0005')
        expect(files).toEqual(expect.arrayContaining(['04-response.json', '07-critique.json', '04-response.2.json', '06-validation.2.json', 'output.json']));
      else expect(files, item).not.toContain('04-response.2.json');
    }
    expect(await readJson(join(itemDir(runDir, '0005'), '06-validation.json'))).toMatchObject({ ok: false, issues: [{ kind: 'parse' }] });
    expect(await readValid(ItemOutputSchema, join(itemDir(runDir, '0005'), 'output.json'))).toMatchObject({
      value: { word: 'bad-once', n: 4 },
      refinements: 1,
      usage: { calls: 2 },
    });
    expect(fake.requests).toHaveLength(9);
    const output = await readValid(OutputSchema, join(runDir, 'tasks', 'fan', 'output.json'));
    expect(output).toMatchObject({ refinements: 1, usage: { calls: 9 }, value: { words } });
  });

  it('fails the task naming the item that never validates, starts no item after it, and reports the calls it made', async () => {
    const fake = await startFakeLlm();
    fake.always(fromRequest(echoItem));
    const ws = await fanWorkspace(fake, {
      words: ['alpha', 'bravo', 'never', 'delta', 'echo', 'foxtrot'],
      task: { concurrency: 1 },
      pipeline: { prices: { 'oai:gpt-fan': { inputPerMillion: 1_000_000, outputPerMillion: 0 } } },
    });

    const result = await start(ws);
    expect(result.exitCode).toBe(1);
    const runDir = await onlyRun(ws, 'current');
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    const error = status.tasks.fan?.error;
    expect(error).toMatchObject({ reason: 'refinements-exhausted', artifact: 'tasks/fan/items/0003/06-validation.3.json', issues: ['(quality) n must be 2'] });
    expect(error?.message).toMatch(/^item 3 of 6 \(items\/0003\): the reply still failed validation after 2 refinements/);
    // Items 1 and 2 once, item 3 three times; with concurrency 1 no item after it started.
    expect(fake.requests).toHaveLength(5);
    expect(await listDir(join(runDir, 'tasks', 'fan', 'items'))).toEqual(['0001', '0002', '0003']);
    // REFINEMENTS counts the items' refinements, the failed item's two among them.
    expect(status.tasks.fan).toMatchObject({
      state: 'failed',
      refinements: 2,
      usage: { calls: 5, inputTokens: 55, outputTokens: 35 },
      costUsd: 55,
      items: { total: 6, complete: 2, failed: 1, failedItems: ['0003'] },
    });

    const shown = await runPopWithEnv(ws, ['status', status.id], env());
    expect(shown.stdout).toContain('2/6 (1 failed)');
    expect(shown.stdout).toContain('item 3 of 6 (items/0003)');
    expect(shown.stdout).toContain(`open: pipeline-current/${status.id}/tasks/fan/items/0003/06-validation.3.json`);
  });

  it('with itemFailures "skip", completes without the item that never validates and records it', async () => {
    const fake = await startFakeLlm();
    fake.always(fromRequest(echoItem));
    const words = ['alpha', 'bravo', 'never', 'delta', 'echo', 'foxtrot'];
    const ws = await fanWorkspace(fake, { words, pipeline: { defaults: { itemFailures: 'skip', concurrency: 2 } } });

    const result = await start(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    const runDir = await onlyRun(ws, 'complete');
    const output = await readValid(OutputSchema, join(runDir, 'tasks', 'fan', 'output.json'));
    expect(output.value).toEqual({ words: ['alpha', 'bravo', 'delta', 'echo', 'foxtrot'], failed: ['0003'] });
    expect(output.items).toMatchObject({
      total: 6,
      complete: 5,
      failed: 1,
      failedItems: [{ index: 2, item: '0003', reason: 'refinements-exhausted', artifact: 'tasks/fan/items/0003/06-validation.3.json' }],
    });
    expect(existsSync(join(itemDir(runDir, '0003'), 'output.json'))).toBe(false);
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.fan).toMatchObject({ state: 'complete', usage: { calls: 8 }, items: { total: 6, complete: 5, failed: 1, failedItems: ['0003'] } });
    const shown = await runPopWithEnv(ws, ['status', status.id], env());
    expect(shown.stdout).toContain('5/6 (1 failed)');
    expect(shown.stdout).toContain('went on without 1 failed item(s): items/0003');
  });

  it('after a SIGKILL of the manager half-way through, the restarted run reuses the finished items: at most items + concurrency requests', async () => {
    const fake = await startFakeLlm();
    // Until the kill, the last four items' requests hang: the kill lands with 8 items done, the rest in flight or not started.
    let killed = false;
    fake.always(
      fromRequest((request) =>
        !killed && /: (india|juliet|kilo|lima)"/.test(JSON.stringify(request.body.messages)) ? slow(30_000) : slow(50, fromRequest(echoItem)),
      ),
    );
    const ws = await fanWorkspace(fake);

    const daemon = await startDaemon(ws);
    const runDir = await waitFor(async () => {
      const [id] = await runDirs(ws.current);
      return id ? join(ws.current, id) : undefined;
    });
    await waitFor(() => folders(12).filter((item) => existsSync(join(itemDir(runDir, item), 'output.json'))).length >= 6, {
      description: 'half the items done',
    });
    // The manager keeps the progress in tasks-status.json while the items run.
    await waitFor(async () => ((await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'))).tasks.fan?.items?.complete ?? 0) >= 6, {
      description: 'items in tasks-status.json',
    });
    expect((await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'))).tasks.fan?.items).toMatchObject({ total: 12, failed: 0 });
    await killDaemonHard(daemon);
    killed = true;
    // What an item's output.json write cut short by a crash leaves: removed at start.
    const tempFile = join(itemDir(runDir, '0012'), '.output.json.999-a-b.tmp');
    await mkdir(itemDir(runDir, '0012'), { recursive: true });
    await writeFile(tempFile, '{"index": 11, "val');
    const doneBefore = folders(12).filter((item) => existsSync(join(itemDir(runDir, item), 'output.json'))).length;
    expect(doneBefore).toBeLessThan(12);

    const result = await start(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    const finished = await onlyRun(ws, 'complete');
    expect(fake.requests.length).toBeLessThanOrEqual(12 + 4);
    expect(await listDir(itemDir(finished, '0012'))).not.toContain('.output.json.999-a-b.tmp');
    const outputs = await Promise.all(folders(12).map((item) => readValid(ItemOutputSchema, join(itemDir(finished, item), 'output.json'))));
    expect(outputs.map((output) => output.value)).toEqual(WORDS.map((word, n) => ({ word, n })));
    expect(outputs.filter((output) => output.attempt === 1).length).toBeGreaterThanOrEqual(doneBefore);
    const output = await readValid(OutputSchema, join(finished, 'tasks', 'fan', 'output.json'));
    expect(output.value).toEqual({ words: WORDS, failed: [] });
    expect(output.items?.reused).toBeGreaterThanOrEqual(doneBefore);
    // This attempt's own calls; the reused items' calls were made (and paid) by the first.
    expect(output.usage.calls).toBe(12 - output.items!.reused!);
    const log = await logLines(join(finished, 'tasks', 'fan', 'task.log'));
    expect(log).toContainEqual(expect.objectContaining({ event: 'items-reused', attempt: 2 }));
  });

  it('rerun --from the fan-out task redoes every item', async () => {
    const fake = await startFakeLlm();
    fake.always(fromRequest(echoItem));
    const ws = await fanWorkspace(fake, { words: WORDS.slice(0, 5) });
    expect((await start(ws)).exitCode).toBe(0);
    const first = await onlyRun(ws, 'complete');
    const id = first.split('/').at(-1)!;

    const rerun = await runPopWithEnv(ws, ['rerun', id, '--from', 'fan'], env());
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(fake.requests).toHaveLength(10);
  });

  it('goes straight to finalize when each returns no items', async () => {
    const module = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ word: z.string() }),
  each: () => [],
  prompt: (word) => String(word),
  finalize: (values) => ({ count: values.length }),
});
`;
    const fake = await startFakeLlm();
    const ws = await fanWorkspace(fake, { module });
    const result = await start(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    const runDir = await onlyRun(ws, 'complete');
    expect(fake.requests).toHaveLength(0);
    expect(await readValid(OutputSchema, join(runDir, 'tasks', 'fan', 'output.json'))).toMatchObject({
      value: { count: 0 },
      usage: { calls: 0 },
      items: { total: 0, complete: 0, failed: 0 },
    });
    expect(await readValid(ItemsFileSchema, join(runDir, 'tasks', 'fan', '02-items.json'))).toEqual({ count: 0, items: [] });
    expect(await listDir(join(runDir, 'tasks', 'fan', 'items'))).toEqual([]);
  });
});

describe('progress of a large fan-out', () => {
  it('20,000 items that all fail, with itemFailures "skip": each progress message carries only the new failure, and the run completes with every one recorded', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'many', tasks: [{ name: 'fan', itemFailures: 'skip', concurrency: 16, timeoutMs: 300_000 }] },
      'pipeline-tasks/index.js': registryModule(['fan']),
      'pipeline-tasks/fan.js': `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ n: z.number() }),
  each: () => Array.from({ length: 20000 }, (_, i) => i),
  prompt: () => { throw new Error('every item fails'); },
  finalize: (values) => ({ n: values.length }),
});
`,
      'pipeline-pending/a.json': { q: 'many' },
    });
    // Resending every failure so far with each one made the task process run out of memory here.
    const result = await runPopWithEnv(ws, ['start', '--once'], popEnv(), 200_000);
    expect(result.exitCode, result.stderr).toBe(0);
    const status = await readValid(RunStatusSchema, join(await onlyRun(ws, 'complete'), 'tasks-status.json'));
    expect(status.tasks.fan?.items).toMatchObject({ total: 20000, complete: 0, failed: 20000 });
    expect(status.tasks.fan?.items?.failedItems).toHaveLength(20000);
  }, 240_000);
});

describe('ctx.callModel', () => {
  it('takes a schema and a model per call; each call is counted and leaves its own response artifact', async () => {
    const fake = await startFakeLlm();
    fake.always(
      fromRequest((request) => {
        const schema = request.body.response_format?.json_schema?.schema;
        if (!schema) return reply('Hello there.', { input: 3, output: 2 });
        if (schema.properties?.tags) return jsonReply({ tags: ['salt', 'sea'] }, { input: 5, output: 4 });
        return jsonReply({ answer: 'Rivers carry salt.' }, { input: 7, output: 6 });
      }),
    );
    const module = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ answer: z.string().min(1) }),
  prompt: ({ seed }) => String(seed.q),
  infer: async (messages, ctx) => {
    const main = await ctx.callModel(messages);
    const tags = await ctx.callModel([{ role: 'user', content: 'Tags for: ' + messages[0].content }], { schema: z.object({ tags: z.array(z.string()) }) });
    const hello = await ctx.callModel([{ role: 'user', content: 'Say hello.' }], { schema: null, model: 'chatty' });
    ctx.log.info({ event: 'extras', tags: JSON.parse(tags.text).tags, hello: hello.text });
    return main;
  },
});
`;
    const ws = await makeWorkspace({
      'pipeline.json': {
        name: 'calls',
        tasks: [{ name: 'ask', model: 'oai:gpt-main' }],
        models: { chatty: 'oai:gpt-chatty' },
        providers: { oai: { type: 'openai', baseURL: fake.openaiBaseURL, maxRetries: 0 } },
      },
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': module,
      'pipeline-pending/q.json': { q: 'Why is the sea salty?' },
    });

    const result = await start(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fake.requests.map((request) => request.model)).toEqual(['gpt-main', 'gpt-main', 'gpt-chatty']);
    expect(fake.requests[1]!.body.response_format.json_schema.schema.properties.tags).toBeDefined();
    expect(fake.requests[2]!.body.response_format).toBeUndefined();

    const runDir = await onlyRun(ws, 'complete');
    const taskDir = join(runDir, 'tasks', 'ask');
    expect(await readJson(join(taskDir, '04-response.json'))).toMatchObject({ call: 1, model: 'oai:gpt-main', usage: { inputTokens: 7, outputTokens: 6 } });
    expect(await readJson(join(taskDir, '04-response.2.json'))).toMatchObject({
      call: 2,
      text: JSON.stringify({ tags: ['salt', 'sea'] }),
      schema: { properties: { tags: {} } },
    });
    expect(await readJson(join(taskDir, '04-response.3.json'))).toMatchObject({
      call: 3,
      model: 'oai:gpt-chatty',
      text: 'Hello there.',
      schema: null,
      messages: [{ role: 'user', content: 'Say hello.' }],
    });
    // The reply the infer returned is parsed and validated under its own call's number.
    expect(await readJson(join(taskDir, '05-parsed.json'))).toMatchObject({ ok: true, value: { answer: 'Rivers carry salt.' } });

    const usage = { inputTokens: 15, outputTokens: 12, calls: 3 };
    expect(await readValid(OutputSchema, join(taskDir, 'output.json'))).toMatchObject({ value: { answer: 'Rivers carry salt.' }, usage });
    expect((await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'))).tasks.ask).toMatchObject({ usage });
    expect(await logLines(join(taskDir, 'task.log'))).toContainEqual(
      expect.objectContaining({ event: 'extras', tags: ['salt', 'sea'], hello: 'Hello there.' }),
    );
  });
});

describe('long inputs', () => {
  it('records what truncateToTokens cut and chunkByTokens split, in task.log, output.json and status', async () => {
    const document = Array.from({ length: 400 }, (_, i) => `Sentence number ${i} says something about the sea.`).join(' ');
    const module = `import { defineTask, z, truncateToTokens, chunkByTokens } from 'pop';
export default defineTask({
  output: z.object({ note: z.string() }),
  preprocess: ({ seed }) => ({ head: truncateToTokens(String(seed.document), 200), chunks: chunkByTokens(String(seed.document), 1000) }),
  each: ({ chunks }) => chunks,
  prompt: (chunk) => ({ system: 'Note one thing.', user: chunk }),
  finalize: (values, ctx) => ({ notes: values.length }),
});
`;
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'long', tasks: ['read'] },
      'pipeline-tasks/index.js': registryModule(['read']),
      'pipeline-tasks/read.js': module,
      'pipeline-pending/long.json': { document },
    });

    const result = await start(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    const runDir = await onlyRun(ws, 'complete');
    const taskDir = join(runDir, 'tasks', 'read');
    const tokens = Math.ceil(document.length / 4);
    const log = await logLines(join(taskDir, 'task.log'));
    expect(log).toContainEqual(
      expect.objectContaining({ event: 'text-truncated', stage: 'pre-processing', tokens, keptTokens: expect.any(Number), chars: document.length }),
    );
    expect(log).toContainEqual(
      expect.objectContaining({ event: 'text-chunked', stage: 'pre-processing', tokens, maxTokens: 1000, chunks: expect.any(Number) }),
    );
    const chunks = (log.find((line) => line.event === 'text-chunked') as { chunks: number }).chunks;
    expect(chunks).toBeGreaterThan(1);

    const output = await readValid(OutputSchema, join(taskDir, 'output.json'));
    expect(output.value).toEqual({ notes: chunks });
    expect(output.truncated).toEqual([{ stage: 'pre-processing', tokens, keptTokens: expect.any(Number) }]);
    expect(output.truncated![0]!.keptTokens).toBeLessThanOrEqual(200);
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.read?.truncated).toEqual(output.truncated);
    const shown = await runPopWithEnv(ws, ['status', status.id], env());
    expect(shown.stdout).toContain(`read: a text was truncated in pre-processing, from about ${tokens} to`);
  });
});

describe('the live line on a terminal', () => {
  it("shows a fan-out task's items done out of all", () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (chunk: Buffer) => (written += chunk.toString()));
    const live = new LiveProgress(Object.assign(out, { columns: 200 }) as unknown as NodeJS.WriteStream);
    live.onEvent({ event: 'task-started', run: 'r1', task: 'fan', attempt: 1, model: 'mock:default' });
    live.onEvent({ event: 'task-items', run: 'r1', task: 'fan', total: 30, complete: 12, failed: 0 });
    live.stop();
    expect(written).toContain('r1 · fan · items 12/30 · attempt 1');
  });
});
