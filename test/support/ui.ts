/**
 * Test support for the web view: a workspace with real runs made by the real CLI (complete,
 * failed, and a rerun), plus a fan-out-shaped run written as files, and `pop ui` as a real process.
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { expect } from 'vitest';
import type { z } from 'zod';
import { describeZodError } from '../../src/formats/describe-error.js';
import { ItemOutputSchema, ItemsFileSchema } from '../../src/formats/items.js';
import { OutputSchema } from '../../src/formats/output.js';
import { PipelineSchema } from '../../src/formats/pipeline.js';
import { SeedSchema } from '../../src/formats/seed.js';
import { RunStatusSchema } from '../../src/formats/tasks-status.js';
import { pop, taskSource, writeFiles } from './cli.js';
import { CLI, runDirs, waitFor, type Workspace } from './workspace.js';

/** facts: a schema task whose first reply is broken JSON (one refinement). */
const FACTS = taskSource(`  output: z.object({ facts: z.array(z.string()).min(1) }),
  prompt: ({ seed }) => ({ system: 'List facts about the topic.', user: String(seed.topic) }),`);

/**
 * summary: a text task whose wording comes from style.txt (edit it and rerun: a changed output);
 * a seed with "fail" makes it throw until the file "fixed" exists (then resume completes it); a
 * seed with "gate" makes it wait until the file "gate" exists (a run the test watches finish).
 */
const SUMMARY = taskSource(
  `  prompt: async ({ seed, inputs }, ctx) => {
    if (seed.fail && !existsSync(new URL('../fixed', import.meta.url))) throw new Error('summary cannot handle a failing seed yet');
    while (seed.gate && !existsSync(new URL('../gate', import.meta.url))) {
      if (ctx.signal.aborted) throw new Error('stopped before the gate opened');
      await new Promise((done) => setTimeout(done, 20));
    }
    console.log('summarizing', seed.topic);
    return readFileSync(new URL('../style.txt', import.meta.url), 'utf8') + ' ' + inputs.facts.facts.join('; ');
  },`,
  `import { existsSync, readFileSync } from 'node:fs';`,
);

export const UI_PIPELINE = {
  name: 'facts-summary',
  tasks: [{ name: 'facts', mock: { failFirst: 1, failure: 'broken-json' } }, 'summary'],
};

export const UI_FILES: Record<string, string | object> = {
  'pipeline.json': UI_PIPELINE,
  'pipeline-tasks/index.js': `import facts from './facts.js';\nimport summary from './summary.js';\nexport default { facts, summary };\n`,
  'pipeline-tasks/facts.js': FACTS,
  'pipeline-tasks/summary.js': SUMMARY,
  'style.txt': 'Summarize briefly:',
};

export interface UiRuns {
  complete: string;
  failed: string;
  rerun: string;
  fanout: string;
}

/** The id in `rerun of X from T: new run Y`. */
const newRunId = (stdout: string) => /new run (\S+)/.exec(stdout)?.[1];

/** Real runs: one complete, one failed in summary, and a rerun of the complete one from summary with a new wording. */
export async function makeRealRuns(ws: Workspace): Promise<Omit<UiRuns, 'fanout'>> {
  await writeFiles(ws, { ...UI_FILES, 'pipeline-pending/owls.json': { topic: 'owls' } });
  const first = await pop(ws, ['start', '--once']);
  expect(first.exitCode, first.stderr).toBe(0);
  const [complete] = await runDirs(ws.complete);
  await writeFiles(ws, { 'pipeline-pending/bats.json': { topic: 'bats', fail: true } });
  const second = await pop(ws, ['start', '--once']);
  expect(second.exitCode, second.stderr).toBe(1);
  const [failed] = await runDirs(ws.current);
  await writeFiles(ws, { 'style.txt': 'Summarize at length, in the voice of a naturalist:' });
  const rerun = await pop(ws, ['rerun', complete!, '--from', 'summary']);
  expect(rerun.exitCode, rerun.stderr).toBe(0);
  return { complete: complete!, failed: failed!, rerun: newRunId(rerun.stdout)! };
}

export const FANOUT_ID = '20261126-080000-fanout-shaped-fx0001';

const item = (index: number, extra: Record<string, string | object>) =>
  Object.fromEntries(Object.entries(extra).map(([file, content]) => [`tasks/facts/items/${String(index).padStart(4, '0')}/${file}`, content]));
const prompt = (text: string) => ({
  messages: [
    { role: 'system', content: 'List the facts in this part.' },
    { role: 'user', content: text },
  ],
  schema: { type: 'object', properties: { facts: { type: 'array' } } },
});
const response = (call: number, text: string, extra: object = {}) => ({
  call,
  model: 'mock:default',
  text,
  usage: { inputTokens: 40, outputTokens: 12 },
  latencyMs: 3,
  skipped: [],
  ...extra,
});
const itemOutput = (index: number, value: object) => ({
  index: index - 1,
  item: String(index).padStart(4, '0'),
  sha256: 'e'.repeat(64),
  value,
  model: 'mock:default',
  usage: { inputTokens: 40, outputTokens: 12, calls: 1 },
  refinements: 0,
  attempt: 1,
  finishedAt: '2026-11-26T08:00:01.000Z',
});
const logLine = (time: string, fields: object) => JSON.stringify({ level: 'info', time, run: FANOUT_ID, task: 'facts', attempt: 1, ...fields });

/**
 * A run shaped as fan-out and task graphs write it (written as files): branches through `needs`,
 * two tasks running at once (a `running` list, no `current`), a task with items, one item
 * refined, one cached reply, one item still in flight, and a task a rerun copied.
 */
export async function writeFanoutRun(ws: Workspace, rerunOf: string): Promise<string> {
  const base = `pipeline-current/${FANOUT_ID}`;
  const files: Record<string, string | object> = {
    'seed.json': { document: 'Owls hunt at night. Bats use echoes. Moles dig.' },
    'pipeline.json': {
      name: 'fan-out-shaped',
      tasks: ['split', { name: 'facts', needs: ['split'] }, { name: 'tone', needs: ['split'] }, { name: 'merge', needs: ['facts', 'tone'] }],
    },
    'tasks-status.json': {
      id: FANOUT_ID,
      pipeline: 'fan-out-shaped',
      state: 'running',
      source: { file: 'fanout.json', sha256: 'f'.repeat(64) },
      createdAt: '2026-11-26T08:00:00.000Z',
      startedAt: '2026-11-26T08:00:00.100Z',
      updatedAt: '2026-11-26T08:00:02.000Z',
      running: ['facts', 'tone'],
      rerunOf: { run: rerunOf, from: 'facts' },
      tasks: {
        split: {
          state: 'complete',
          attempts: 1,
          refinements: 0,
          copied: true,
          startedAt: '2026-11-26T08:00:00.100Z',
          endedAt: '2026-11-26T08:00:00.400Z',
          durationMs: 300,
          usage: { inputTokens: 0, outputTokens: 0, calls: 0 },
        },
        facts: {
          state: 'running',
          attempts: 1,
          refinements: 1,
          startedAt: '2026-11-26T08:00:00.500Z',
          usage: { inputTokens: 160, outputTokens: 48, calls: 4, cachedCalls: 1 },
          items: { total: 4, complete: 2, failed: 1, failedItems: ['0004'] },
        },
        tone: { state: 'running', attempts: 1, refinements: 0, startedAt: '2026-11-26T08:00:00.500Z', usage: { inputTokens: 0, outputTokens: 0, calls: 0 } },
        merge: { state: 'pending', attempts: 0, refinements: 0, usage: { inputTokens: 0, outputTokens: 0, calls: 0 } },
      },
    },
    'tasks/split/output.json': {
      task: 'split',
      value: ['Owls hunt at night.', 'Bats use echoes.', 'Moles dig.'],
      model: null,
      usage: { inputTokens: 0, outputTokens: 0, calls: 0 },
      refinements: 0,
      finishedAt: '2026-11-26T08:00:00.390Z',
    },
    'tasks/facts/02-items.json': {
      count: 4,
      items: ['Owls hunt at night.', 'Bats use echoes.', 'Moles dig.', 'Voles?'].map((value, index) => ({
        index,
        item: String(index + 1).padStart(4, '0'),
        bytes: value.length + 2,
        sha256: 'e'.repeat(64),
        value,
      })),
    },
    'tasks/facts/task.log': [
      logLine('2026-11-26T08:00:00.510Z', { event: 'stage-started', stage: 'ingestion', call: 0 }),
      logLine('2026-11-26T08:00:00.520Z', { event: 'stage-started', stage: 'pre-processing', call: 0 }),
      // Item lines carry the item's folder, as the item loop's child logger writes them.
      logLine('2026-11-26T08:00:00.600Z', { event: 'stage-started', stage: 'prompt', call: 0, item: '0001' }),
      logLine('2026-11-26T08:00:00.610Z', { event: 'stage-started', stage: 'prompt', call: 0, item: '0002' }),
      logLine('2026-11-26T08:00:00.620Z', { event: 'stage-started', stage: 'inference', call: 1, item: '0001' }),
      logLine('2026-11-26T08:00:00.630Z', { event: 'stage-started', stage: 'inference', call: 1, item: '0002' }),
      logLine('2026-11-26T08:00:00.900Z', { event: 'item-complete', item: '0001' }),
      logLine('2026-11-26T08:00:00.950Z', { event: 'stage-started', stage: 'critique', call: 1, item: '0002' }),
      logLine('2026-11-26T08:00:01.400Z', { event: 'item-complete', item: '0002' }),
      logLine('2026-11-26T08:00:01.410Z', { event: 'stage-started', stage: 'prompt', call: 0, item: '0003' }),
      '',
    ].join('\n'),
    'tasks/facts/console.log': '',
    ...item(1, {
      '03-prompt.json': prompt('Owls hunt at night.'),
      '03-prompt.md': '## user\n\nOwls hunt at night.\n',
      '04-response.json': response(1, '{"facts":["owls hunt at night"]}', { cached: true }),
      '05-parsed.json': { ok: true, value: { facts: ['owls hunt at night'] } },
      '06-validation.json': { call: 1, ok: true, issues: [] },
      'output.json': itemOutput(1, { facts: ['owls hunt at night'] }),
    }),
    ...item(2, {
      '03-prompt.json': prompt('Bats use echoes.'),
      '04-response.json': response(1, '{"facts": ["bats use ech'),
      '05-parsed.json': { ok: false, error: 'the reply is not valid JSON' },
      '06-validation.json': { call: 1, ok: false, issues: [{ kind: 'parse', message: 'the reply is not valid JSON' }] },
      '07-critique.json': {
        afterCall: 1,
        issues: [{ kind: 'parse', message: 'the reply is not valid JSON' }],
        feedback: 'Reply again with the complete JSON.',
      },
      '04-response.2.json': response(2, '{"facts": ["bats use echoes"]}'),
      '05-parsed.2.json': { ok: true, value: { facts: ['bats use echoes'] } },
      '06-validation.2.json': { call: 2, ok: true, issues: [] },
      'output.json': { ...itemOutput(2, { facts: ['bats use echoes'] }), refinements: 1 },
    }),
    ...item(3, { '03-prompt.json': prompt('Moles dig.') }),
    ...item(4, { '03-prompt.json': prompt('Voles?'), '04-response.json': response(1, 'no idea') }),
  };
  for (const [path, content] of Object.entries(files)) expectFileFormat(path, content);
  await writeFiles(ws, Object.fromEntries(Object.entries(files).map(([path, content]) => [`${base}/${path}`, content])));
  return FANOUT_ID;
}

/** The files of a run folder that have a format of their own, and its schema. */
const RUN_FILE_FORMATS: Array<[RegExp, z.ZodType]> = [
  [/^seed\.json$/, SeedSchema],
  [/^pipeline\.json$/, PipelineSchema],
  [/^tasks-status\.json$/, RunStatusSchema],
  [/^tasks\/[^/]+\/output\.json$/, OutputSchema],
  [/^tasks\/[^/]+\/02-items\.json$/, ItemsFileSchema],
  [/^tasks\/[^/]+\/items\/\d{4}\/output\.json$/, ItemOutputSchema],
];

/** A file written by hand must be one POP could have written: checked against the real schema of its format. */
function expectFileFormat(path: string, content: string | object): void {
  const schema = RUN_FILE_FORMATS.find(([pattern]) => pattern.test(path))?.[1];
  if (!schema) return;
  const parsed = schema.safeParse(typeof content === 'string' ? JSON.parse(content) : content);
  if (!parsed.success) throw new Error(`the fixture ${path} does not fit its format: ${describeZodError(parsed.error)}`);
}

export interface UiProcess {
  url: string;
  origin: string;
  token: string;
  cookie: string;
  subprocess: ResultPromise;
  stderr: () => string;
  stop: () => Promise<void>;
}

/** `pop ui --port 0 --root <ws>` as a real process; resolves once it has printed its address. */
export async function startUi(ws: Workspace, env: NodeJS.ProcessEnv = {}, extraArgs: string[] = []): Promise<UiProcess> {
  const subprocess = execa(process.execPath, [CLI, 'ui', '--port', '0', '--root', ws.root, ...extraArgs], {
    cwd: ws.root,
    env,
    reject: false,
    stdin: 'ignore',
    buffer: false,
  });
  let stdout = '';
  let stderr = '';
  subprocess.stdout?.setEncoding('utf8');
  subprocess.stderr?.setEncoding('utf8');
  subprocess.stdout?.on('data', (chunk: string) => (stdout += chunk));
  subprocess.stderr?.on('data', (chunk: string) => (stderr += chunk));
  const url = await waitFor(() => /^(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)$/m.exec(stdout)?.[1], {
    description: () => `the address pop ui prints\nstdout: ${stdout}\nstderr: ${stderr}`,
  });
  const parsed = new URL(url);
  const token = parsed.searchParams.get('token')!;
  return {
    url,
    origin: parsed.origin,
    token,
    cookie: `pop_ui_token_${parsed.port}=${encodeURIComponent(token)}`,
    subprocess,
    stderr: () => stderr,
    stop: async () => {
      subprocess.kill('SIGTERM');
      await subprocess;
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An HTTP request with the path sent exactly as written (fetch would normalize `..` away). */
export function rawRequest(
  origin: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, path, method: options.method ?? 'GET', headers: { host: `${hostname}:${port}`, ...options.headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export const runFolder = (ws: Workspace, where: 'current' | 'complete', id: string) => join(where === 'current' ? ws.current : ws.complete, id);
