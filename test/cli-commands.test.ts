/**
 * Every operator command as a real process against real temp workspaces: submit, start --once,
 * status, runs, validate, schemas, and the usage errors.
 */
import { readFileSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_FORMATS, jsonSchemaOf } from '../src/formats/all-schemas.js';
import { RunRecordSchema, type RunRecord } from '../src/formats/run-record.js';
import { RunStatusSchema, type RunStatus } from '../src/formats/tasks-status.js';
import { formatDuration } from '../src/cli/table.js';
import { buildProgram } from '../src/cli/main.js';
import { makeSharedWorkspace, pop, readStatus, taskSource, writeFiles, type CliResult } from './support/cli.js';
import { REPO_ROOT, listDir, makeWorkspace, readRunRecords, registryModule, runDirs, type Workspace } from './support/workspace.js';

const FACTS = taskSource(`  output: z.object({ facts: z.array(z.string()).min(1) }),
  prompt: ({ seed }) => \`List facts about \${seed.topic}.\`,`);

// Fails (in its prompt stage) for a seed with a "fail" field.
const SUMMARY = taskSource(`  output: z.object({ summary: z.string().min(1) }),
  prompt: ({ seed, inputs }) => {
    if (seed.fail) throw new Error(\`cannot summarize: \${seed.fail}\`);
    return \`Summarize these facts: \${inputs.facts.facts.join('; ')}\`;
  },`);

const QA_FILES = {
  'pipeline.json': { name: 'alpha', tasks: ['facts', 'summary'] },
  'pipeline-tasks/index.js': registryModule(['facts', 'summary']),
  'pipeline-tasks/facts.js': FACTS,
  'pipeline-tasks/summary.js': SUMMARY,
};

/** Cells of a text table row: columns are separated by at least two spaces. */
const cells = (line: string | undefined) => (line ?? '').split(/ {2,}/);

describe('submit', () => {
  it('drops the files into pipeline-pending/ byte for byte and prints their seed names', async () => {
    const ws = await makeWorkspace(QA_FILES);
    const owls = '{\n  "topic": "owls",\n  "note": "ünïcödé ✓"\n}\n';
    await writeFiles(ws, { 'in/owls.json': owls, 'in/bats': '{"topic":"bats"}' });

    const result = await pop(ws, ['submit', ws.path('in/owls.json'), ws.path('in/bats')]);

    expect(result).toMatchObject({ exitCode: 0, stdout: 'owls.json\nbats.json', stderr: '' });
    expect(await listDir(ws.pending)).toEqual(['bats.json', 'owls.json']);
    expect(await readFile(join(ws.pending, 'owls.json'), 'utf8')).toBe(owls);
    expect(await readFile(join(ws.pending, 'bats.json'), 'utf8')).toBe('{"topic":"bats"}');
  });

  it('reads a seed from standard input with -', async () => {
    const ws = await makeWorkspace(QA_FILES);
    const seed = '{"topic":"from stdin"}\n';

    const result = await pop(ws, ['submit', '-'], { input: seed });

    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^stdin-\d+\.json$/);
    expect(await listDir(ws.pending)).toEqual([result.stdout]);
    expect(await readFile(join(ws.pending, result.stdout), 'utf8')).toBe(seed);
  });

  it('refuses a JSON file that is not an object with exit 2 and writes nothing', async () => {
    const ws = await makeWorkspace(QA_FILES);
    const list = ws.path('in/list.json');
    await writeFiles(ws, { 'in/list.json': '[1, 2, 3]', 'in/broken.json': '{ "topic": ' });

    const refused = await pop(ws, ['submit', list]);
    expect(refused).toMatchObject({ exitCode: 2, stdout: '', stderr: `pop: ${list}: a seed must be a JSON object` });

    const broken = await pop(ws, ['submit', ws.path('in/broken.json')]);
    expect(broken.exitCode, broken.stderr).toBe(2);
    expect(broken.stdout).toBe('');
    expect(broken.stderr).toMatch(new RegExp(`^pop: ${ws.path('in/broken.json')}: not valid JSON \\(.+\\)$`));

    // Not even a hidden temp file.
    expect(await listDir(ws.pending)).toEqual([]);
  });
});

describe('validate', () => {
  it('accepts a good workspace: exit 0 and an ok: line naming the pipeline, tasks, models and registry', async () => {
    const ws = await makeWorkspace(QA_FILES);
    const registry = ws.path('pipeline-tasks/index.js');

    const text = await pop(ws, ['validate']);
    expect(text).toMatchObject({
      exitCode: 0,
      stderr: '',
      stdout: `ok: pipeline "alpha" with 2 task(s): facts (mock:default), summary (mock:default); 2 task(s) registered in ${registry}`,
    });

    const json = await pop(ws, ['validate', '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ ok: true, problems: [], warnings: [] });
  });

  /** "broken.js" has a syntax error on its line 2, "empty.js" exports nothing, and pipeline.json names an unknown provider. */
  const brokenWorkspace = () =>
    makeWorkspace({
      // "ghost" is not registered; "odd" names the unknown provider "nosuch".
      'pipeline.json': { name: 'broken', tasks: ['facts', 'ghost', { name: 'odd', task: 'facts', model: 'nosuch:model' }] },
      'pipeline-tasks/index.js': registryModule(['facts', 'broken', 'empty']),
      'pipeline-tasks/facts.js': FACTS,
      'pipeline-tasks/broken.js': `import { defineTask, z } from 'pop';\nexport default defineTask({ prompt: () => 'hi' ;\n`,
      'pipeline-tasks/empty.js': `import { z } from 'pop';\n// no export at all\n`,
    });

  it('lists a task module with a syntax error (once, at its line and column) and one exporting nothing: exit 1', async () => {
    const ws = await brokenWorkspace();
    const broken = ws.path('pipeline-tasks/broken.js');
    const empty = ws.path('pipeline-tasks/empty.js');

    const json = await pop(ws, ['validate', '--json']);
    expect(json.exitCode, json.stderr).toBe(1);
    const report = JSON.parse(json.stdout) as { ok: boolean; problems: string[]; warnings: string[] };
    expect(report.ok).toBe(false);
    expect(report.warnings).toEqual([]);
    const modules = report.problems.filter((problem) => !problem.startsWith(ws.pipelineFile));
    // The modules in the order the folder lists them; the registry that imports them is not blamed too.
    modules.sort();
    expect(modules).toEqual([
      `${broken}:2:48: Unexpected token ';'\n    2 | export default defineTask({ prompt: () => 'hi' ;\n${' '.repeat(55)}^`,
      `${empty}: exports no default task (export default defineTask({...}))`,
    ]);

    const text = await pop(ws, ['validate']);
    expect(text.exitCode, text.stderr).toBe(1);
    expect(text.stdout).not.toMatch(/\bat |node:internal|index\.js/);
    expect(text.stdout.split('\n').at(-1)).toBe(`${report.problems.length} problem(s)`);
    expect(text.stdout.match(/Unexpected token/g)).toHaveLength(1);
  });

  it('start names the syntax error once, with its place and line, and no stack: exit 2', async () => {
    const ws = await brokenWorkspace();
    const result = await pop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toContain(`pop: ${ws.path('pipeline-tasks/broken.js')}:2:48: Unexpected token ';'\n    2 | export default`);
    expect(result.stderr.match(/Unexpected token/g)).toHaveLength(1);
    expect(result.stderr).not.toMatch(/node:internal|\n +at /);
  });

  // With the registry broken, task names cannot be checked against it, but models and keys still are.
  it('with a broken registry, still lists the unknown provider in pipeline.json', async () => {
    const ws = await brokenWorkspace();
    const json = await pop(ws, ['validate', '--json']);
    expect((JSON.parse(json.stdout) as { problems: string[] }).problems).toEqual(
      expect.arrayContaining([
        `${ws.pipelineFile}: tasks[2] "odd": provider "nosuch" of "nosuch:model" is not declared in "providers" (built in: openai, anthropic, mock)`,
      ]),
    );
  });

  it('lists an unknown task name and an unknown model provider in pipeline.json, each naming the file: exit 1', async () => {
    const ws = await makeWorkspace({
      ...QA_FILES,
      'pipeline.json': { name: 'broken', tasks: ['facts', 'ghost', { name: 'odd', task: 'facts', model: 'nosuch:model' }] },
    });
    const registry = ws.path('pipeline-tasks/index.js');
    const problems = [
      `${ws.pipelineFile}: tasks[1] "ghost" is not a registered task (registered in ${registry}: facts, summary)`,
      `${ws.pipelineFile}: tasks[2] "odd": provider "nosuch" of "nosuch:model" is not declared in "providers" (built in: openai, anthropic, mock)`,
    ];

    const text = await pop(ws, ['validate']);
    expect(text).toMatchObject({ exitCode: 1, stderr: '', stdout: [...problems.map((p) => `problem: ${p}`), '2 problem(s)'].join('\n') });

    const json = await pop(ws, ['validate', '--json']);
    expect(json.exitCode, json.stderr).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, problems, warnings: [] });
  });

  it('names OPENAI_API_KEY when a task needs an OpenAI model and the key is not set: exit 1', async () => {
    const ws = await makeWorkspace({ ...QA_FILES, 'pipeline.json': { name: 'keys', tasks: [{ name: 'facts', model: 'openai:gpt-4o-mini' }, 'summary'] } });
    const env = { ...process.env };
    delete env.OPENAI_API_KEY;

    const missing = await pop(ws, ['validate'], { env, extendEnv: false });
    expect(missing).toMatchObject({
      exitCode: 1,
      stdout: [
        `problem: ${ws.pipelineFile}: task "facts": openai:gpt-4o-mini needs OPENAI_API_KEY (set it in the environment or in the workspace's .env file)`,
        '1 problem(s)',
      ].join('\n'),
    });

    // Set in the environment, or in the workspace's .env: no problem (validate makes no call).
    const inEnv = await pop(ws, ['validate'], { env: { ...env, OPENAI_API_KEY: 'sk-test-not-a-real-key' }, extendEnv: false });
    expect(inEnv.exitCode, inEnv.stderr).toBe(0);
    expect(inEnv.stdout).toMatch(/^ok: pipeline "keys" with 2 task\(s\): facts \(openai:gpt-4o-mini\), summary \(mock:default\);/);
    await writeFile(ws.path('.env'), 'OPENAI_API_KEY=sk-test-not-a-real-key\n');
    const inDotEnv = await pop(ws, ['validate'], { env, extendEnv: false });
    expect(inDotEnv.exitCode, inDotEnv.stderr).toBe(0);
  });

  it('warns, without failing, when only some of a fallback list lack their key', async () => {
    const ws = await makeWorkspace({
      ...QA_FILES,
      'pipeline.json': { name: 'keys', tasks: [{ name: 'facts', model: ['openai:gpt-4o-mini', 'mock:default'] }, 'summary'] },
    });
    const env = { ...process.env };
    delete env.OPENAI_API_KEY;

    const json = await pop(ws, ['validate', '--json'], { env, extendEnv: false });
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: true,
      problems: [],
      warnings: [
        `${ws.pipelineFile}: task "facts": openai:gpt-4o-mini needs OPENAI_API_KEY (set it in the environment or in the workspace's .env file); its other models will be used`,
      ],
    });
  });
});

describe('schemas', () => {
  const expectedSchemaText = (file: string, schema: (typeof FILE_FORMATS)[keyof typeof FILE_FORMATS]) =>
    `${JSON.stringify({ ...jsonSchemaOf(schema), title: file.replace('.schema.json', '') }, null, 2)}\n`;

  it('writes the JSON Schema of every file format into the folder and prints the paths', async () => {
    const ws = await makeWorkspace(QA_FILES);
    const dir = ws.path('out', 'schemas');

    const result = await pop(ws, ['schemas', dir], { root: false });

    const files = Object.keys(FILE_FORMATS);
    expect(files).toContain('pipeline.schema.json');
    expect(result).toMatchObject({ exitCode: 0, stderr: '', stdout: files.map((file) => join(dir, file)).join('\n') });
    expect(await listDir(dir)).toEqual([...files].sort());
    for (const [file, schema] of Object.entries(FILE_FORMATS)) {
      expect(await readFile(join(dir, file), 'utf8'), file).toBe(expectedSchemaText(file, schema));
    }
    const pipelineSchema = JSON.parse(await readFile(join(dir, 'pipeline.schema.json'), 'utf8')) as { title: string; properties: Record<string, unknown> };
    expect(pipelineSchema.title).toBe('pipeline');
    expect(Object.keys(pipelineSchema.properties)).toEqual(expect.arrayContaining(['name', 'tasks', 'models', 'defaults']));

    // Without a folder: docs/schemas, relative to the current folder.
    const byDefault = await pop(ws, ['schemas'], { root: false });
    expect(byDefault.exitCode, byDefault.stderr).toBe(0);
    expect(await listDir(ws.path('docs', 'schemas'))).toEqual([...files].sort());
  });

  // The schemas kept in the repository must follow src/formats/: after changing a format, run
  // `npm run schemas`.
  it('docs/schemas/ holds what `schemas` writes today', async () => {
    for (const [file, schema] of Object.entries(FILE_FORMATS)) {
      expect(await readFile(join(REPO_ROOT, 'docs', 'schemas', file), 'utf8'), file).toBe(expectedSchemaText(file, schema));
    }
  });
});

describe('usage errors', () => {
  it('exit 2 for an unknown flag, a bad flag value or a missing required flag', async () => {
    const ws = await makeWorkspace(QA_FILES);

    const bogus = await pop(ws, ['status', '--bogus']);
    expect(bogus.exitCode, bogus.stderr).toBe(2);
    expect(bogus.stdout).toBe('');
    expect(bogus.stderr.split('\n')[0]).toBe("error: unknown option '--bogus'");

    const limit = await pop(ws, ['runs', '--limit', 'many']);
    expect(limit.exitCode, limit.stderr).toBe(2);
    expect(limit.stderr.split('\n')[0]).toBe("error: option '--limit <n>' argument 'many' is invalid. must be a whole number (0 for all)");

    const concurrency = await pop(ws, ['start', '--once', '--concurrency', '0']);
    expect(concurrency.exitCode, concurrency.stderr).toBe(2);
    expect(concurrency.stderr.split('\n')[0]).toBe("error: option '--concurrency <n>' argument '0' is invalid. must be a whole number of at least 1");

    const noFrom = await pop(ws, ['rerun', 'some-run']);
    expect(noFrom.exitCode, noFrom.stderr).toBe(2);
    expect(noFrom.stderr.split('\n')[0]).toBe("error: required option '--from <task>' not specified");
  });

  it('a mistyped command is named, with the closest command: exit 2', async () => {
    const ws = await makeWorkspace(QA_FILES);
    const typo = await pop(ws, ['sumbit', 'x.json']);
    expect(typo).toMatchObject({ exitCode: 2, stdout: '', stderr: "pop: unknown command 'sumbit' (did you mean submit?)\n(pop --help lists the commands)" });
    const far = await pop(ws, ['frobnicate']);
    expect(far).toMatchObject({ exitCode: 2, stderr: "pop: unknown command 'frobnicate'\n(pop --help lists the commands)" });
    expect(await listDir(ws.pending)).toEqual([]);
  });

  it('--version and -V print the version of the package: exit 0', async () => {
    const ws = await makeWorkspace({});
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      expect(await pop(ws, [flag], { root: false })).toMatchObject({ exitCode: 0, stdout: version, stderr: '' });
    }
  });

  it('a command that needs a workspace refuses in a folder without pipeline.json, creating nothing there: exit 2', async () => {
    const ws = await makeWorkspace({ 'in/seed.json': { topic: 'owls' } });
    await rm(ws.pending, { recursive: true });
    const refusal = `pop: ${ws.root} is not a POP workspace: it has no pipeline.json (pop init creates one; --root names the workspace folder)`;
    for (const args of [['submit', ws.path('in/seed.json')], ['status'], ['runs'], ['prune', '--failed', '--yes'], ['cache', 'stats'], ['resume', 'x']]) {
      expect(await pop(ws, args), args.join(' ')).toMatchObject({ exitCode: 2, stdout: '', stderr: refusal });
    }
    expect(await listDir(ws.root)).toEqual(['in', 'node_modules', 'pipeline-complete', 'pipeline-current']);
  });

  it("every default --help shows is the one docs/cli.md's command table states", () => {
    const table = readFileSync(join(REPO_ROOT, 'docs', 'cli.md'), 'utf8').split('\n');
    const checked: string[] = [];
    for (const command of buildProgram().commands) {
      for (const option of command.options) {
        if (option.defaultValue === undefined || option.long === '--root') continue;
        const row = table.find((line) => line.startsWith(`| \`${command.name()}`));
        expect(row, `a docs/cli.md row for ${command.name()}`).toBeDefined();
        const stated = `default ${option.defaultValueDescription ?? String(option.defaultValue)}`;
        expect(row!.replace(/[`:]/g, ''), `${command.name()} ${option.long}`).toContain(stated);
        checked.push(`${command.name()} ${option.long}`);
      }
    }
    expect(checked).toEqual(['start --concurrency', 'worker --concurrency', 'runs --limit', 'cost --by', 'ui --port', 'ui --host', 'prune --older-than']);
  });

  it('exit 2 when start finds no workspace, naming pipeline.json', async () => {
    const ws = await makeWorkspace({});
    const result = await pop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toBe(`pop: ${ws.pipelineFile}: cannot read (ENOENT); is --root the workspace folder?`);
  });
});

/**
 * One workspace for the read-only commands: run "one" completed under pipeline "alpha"; then,
 * under the renamed pipeline "beta", run "two" completed and run "bad" failed in summary.
 */
describe('start --once, status and runs on a workspace with complete and failed runs', () => {
  let ws: Workspace & { remove: () => Promise<void> };
  let firstStart: CliResult;
  let secondStart: CliResult;
  let one: string;
  let two: string;
  let bad: string;

  beforeAll(async () => {
    ws = await makeSharedWorkspace({
      ...QA_FILES,
      'in/one.json': { topic: 'owls' },
      'in/two.json': { topic: 'bats' },
      'in/bad.json': { topic: 'moths', fail: 'no facts about moths' },
    });
    expect((await pop(ws, ['submit', ws.path('in/one.json')])).exitCode).toBe(0);
    firstStart = await pop(ws, ['start', '--once']);
    await writeFiles(ws, { 'pipeline.json': { name: 'beta', tasks: ['facts', 'summary'] } });
    expect((await pop(ws, ['submit', ws.path('in/two.json'), ws.path('in/bad.json')])).exitCode).toBe(0);
    secondStart = await pop(ws, ['start', '--once']);

    const complete = await runDirs(ws.complete);
    const current = await runDirs(ws.current);
    expect(complete).toHaveLength(2);
    expect(current).toHaveLength(1);
    one = complete.find((id) => id.includes('-one-'))!;
    two = complete.find((id) => id.includes('-two-'))!;
    bad = current[0]!;
    expect(bad).toContain('-bad-');
  });
  afterAll(async () => {
    await ws?.remove();
  });

  it('start --once exits 0 when every run completed, with a summary line on stderr', () => {
    expect(firstStart.exitCode, firstStart.stderr).toBe(0);
    expect(firstStart.stderr).toBe(`pop: 1 run(s) complete, 0 failed, 0 seed(s) rejected · results in ${ws.complete} (index: ${ws.runsJsonl})`);
    expect(firstStart.events.filter((line) => line.event === 'run-complete').map((line) => line.run)).toEqual([one]);
  });

  it('start --once exits 1 when any run failed, saying where the failed runs stay', () => {
    expect(secondStart.exitCode, secondStart.stderr).toBe(1);
    expect(secondStart.stderr).toBe(
      `pop: 1 run(s) complete, 1 failed, 0 seed(s) rejected · results in ${ws.complete} (index: ${ws.runsJsonl}) · failed runs stay in ${ws.current}`,
    );
    expect(secondStart.events.find((line) => line.event === 'run-failed')).toMatchObject({
      level: 'error',
      run: bad,
      task: 'summary',
      reason: 'task-threw',
      message: 'prompt threw: cannot summarize: no facts about moths',
    });
  });

  it('status: a table of the current runs (id, state, task, done/total) and the last completed', async () => {
    const records = await readRunRecords(ws);
    const result = await pop(ws, ['status']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n');
    expect(lines).toHaveLength(6);
    expect(cells(lines[0])).toEqual(['RUN', 'STATE', 'TASK', 'DONE', 'AGE']);
    const [id, state, task, done, age] = cells(lines[1]);
    expect([id, state, task, done]).toEqual([bad, 'failed', 'summary', '1/2']);
    expect(age).toMatch(/^\d+[smhd]$/);
    expect(lines[2]).toBe('');
    expect(cells(lines[3])).toEqual(['COMPLETED', 'PIPELINE', 'DURATION', 'CALLS', 'COST', 'AT']);
    const expectRow = (line: string | undefined, record: RunRecord) =>
      expect(cells(line)).toEqual([record.id, record.pipeline, formatDuration(record.durationMs), '2', '-', record.completedAt.replace('T', ' ').slice(0, 19)]);
    expect(records.map((record) => record.id)).toEqual([one, two]);
    expectRow(lines[4], records[1]!);
    expectRow(lines[5], records[0]!);
  });

  it('status --json: { current, completed } with every entry in its file format', async () => {
    const result = await pop(ws, ['status', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const data = JSON.parse(result.stdout) as { current: unknown[]; completed: unknown[] };
    expect(Object.keys(data)).toEqual(['current', 'completed']);
    const current = data.current.map((entry) => RunStatusSchema.parse(entry));
    expect(current.map((status) => [status.id, status.state, status.error?.task])).toEqual([[bad, 'failed', 'summary']]);
    expect(current[0]).toEqual(await readStatus(join(ws.current, bad)));
    const completed = data.completed.map((entry) => RunRecordSchema.parse(entry));
    expect(completed).toEqual((await readRunRecords(ws)).reverse());
  });

  it('status <id> of a failed run shows the task, the reason, the message and the artifact to open', async () => {
    const status = await readStatus(join(ws.current, bad));
    const folder = `pipeline-current/${bad}`;
    const result = await pop(ws, ['status', bad]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n');
    expect(lines.slice(0, 8)).toEqual([
      `run       ${bad}`,
      'state     failed (at summary)',
      'pipeline  beta',
      'seed      bad.json',
      `folder    ${folder}`,
      `created   ${status.createdAt}`,
      // The time a manager worked on it, and beside it the span from its first start.
      `duration  ${formatDuration(status.activeMs)} active (${formatDuration(Date.parse(status.updatedAt) - Date.parse(status.startedAt!))} from first start to last change)`,
      '',
    ]);
    expect(cells(lines[8])).toEqual(['TASK', 'STATE', 'ATTEMPTS', 'REFINEMENTS', 'DURATION', 'TOKENS IN/OUT', 'CALLS', 'COST', 'MODEL']);
    const facts = status.tasks.facts!;
    expect(cells(lines[9])).toEqual([
      'facts',
      'complete',
      '1',
      '0',
      formatDuration(facts.durationMs),
      `${facts.usage.inputTokens}/${facts.usage.outputTokens}`,
      '1',
      '-',
      'mock:default',
    ]);
    expect(cells(lines[10])).toEqual(['summary', 'failed', '1', '0', formatDuration(status.tasks.summary!.durationMs), '0/0', '0', '-', '-']);

    // The run's calls by the model that answered, from the ledgers.
    expect(lines[11]).toBe('');
    expect(cells(lines[12])).toEqual(['MODEL', 'CALLS', 'TOKENS IN/OUT', 'COST']);
    expect(cells(lines[13])).toEqual(['mock:default', '1', `${facts.usage.inputTokens}/${facts.usage.outputTokens}`, '-']);
    const artifact = `${folder}/tasks/summary/02-preprocessed.json`;
    expect(lines.slice(14, 19)).toEqual([
      '',
      'summary failed (task-threw in prompt):',
      '  prompt threw: cannot summarize: no facts about moths',
      `  open: ${artifact}`,
      '  Error: cannot summarize: no facts about moths',
    ]);
    expect(lines[19]).toMatch(new RegExp(`^      at Object\\.prompt \\(file://${ws.path('pipeline-tasks', 'summary.js')}:\\d+:\\d+\\)$`));
    expect(lines.at(-1)).toBe(`  logs: ${folder}/tasks/summary/task.log, ${folder}/tasks/summary/console.log`);
    // The file to open is there, and says what the task got before its prompt threw: the seed and
    // the earlier output, by reference.
    expect((await stat(ws.path(artifact))).isFile()).toBe(true);
    expect(JSON.parse(await readFile(ws.path(artifact), 'utf8'))).toEqual({
      seed: { $ref: '../../seed.json' },
      inputs: { facts: { $ref: '../../tasks/facts/output.json#/value' } },
    });
  });

  it('status <id> --json of a failed run: its tasks-status.json and its folder', async () => {
    const result = await pop(ws, ['status', bad, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const data = JSON.parse(result.stdout) as RunStatus & { folder: string };
    expect(data.folder).toBe(`pipeline-current/${bad}`);
    const status = RunStatusSchema.parse(data);
    expect(status).toEqual(await readStatus(join(ws.current, bad)));
    expect(status).toMatchObject({ id: bad, pipeline: 'beta', state: 'failed', running: [], source: { file: 'bad.json' } });
    expect(status.error).toMatchObject({
      task: 'summary',
      reason: 'task-threw',
      stage: 'prompt',
      message: 'prompt threw: cannot summarize: no facts about moths',
      artifact: 'tasks/summary/02-preprocessed.json',
    });
    expect(status.tasks.facts).toMatchObject({ state: 'complete', attempts: 1, refinements: 0, model: 'mock:default', usage: { calls: 1 } });
    expect(status.tasks.summary).toMatchObject({ state: 'failed', attempts: 1, error: { reason: 'task-threw', stage: 'prompt' } });
  });

  it('status <id> finds a completed run too, by a unique part of its id', async () => {
    const suffix = one.slice(-6);
    const result = await pop(ws, ['status', `one-${suffix}`, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const data = JSON.parse(result.stdout) as RunStatus & { folder: string };
    expect(data.folder).toBe(`pipeline-complete/${one}`);
    expect(RunStatusSchema.parse(data)).toMatchObject({ id: one, state: 'complete', running: [], pipeline: 'alpha' });
  });

  it('status <unknown id> exits 3 and lists the closest ids', async () => {
    const typo = `${bad.slice(0, -1)}${bad.endsWith('x') ? 'y' : 'x'}`;
    const result = await pop(ws, ['status', typo]);
    expect(result.exitCode, result.stderr).toBe(3);
    expect(result.stdout).toBe('');
    const prefix = `pop: no run "${typo}" in pipeline-current/ or pipeline-complete/; closest: `;
    expect(result.stderr.startsWith(prefix), result.stderr).toBe(true);
    const closest = result.stderr.slice(prefix.length).split(', ');
    expect(closest[0]).toBe(bad);
    expect([...closest].sort()).toEqual([bad, one, two].sort());
  });

  it('runs: completed runs newest first, as a table with a total line', async () => {
    const records = (await readRunRecords(ws)).reverse();
    const result = await pop(ws, ['runs']);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines).toHaveLength(4);
    const sum = (pick: (record: (typeof records)[number]) => number) => records.reduce((total, record) => total + pick(record), 0);
    expect(cells(lines[3])).toEqual([
      'TOTAL (2 runs)',
      '4',
      `${sum((record) => record.totals.inputTokens)}/${sum((record) => record.totals.outputTokens)}`,
      '-',
    ]);
    expect(cells(lines[0])).toEqual(['RUN', 'PIPELINE', 'SEED', 'COMPLETED', 'DURATION', 'CALLS', 'TOKENS IN/OUT', 'COST']);
    records.forEach((record, index) => {
      expect(cells(lines[index + 1])).toEqual([
        record.id,
        record.pipeline,
        record.seed,
        record.completedAt.replace('T', ' ').slice(0, 19),
        formatDuration(record.durationMs),
        '2',
        `${record.totals.inputTokens}/${record.totals.outputTokens}`,
        '-',
      ]);
    });
    expect(records.map((record) => [record.id, record.pipeline, record.seed])).toEqual([
      [two, 'beta', 'two.json'],
      [one, 'alpha', 'one.json'],
    ]);
  });

  it('runs --json: an array of runs.jsonl records, newest first; --pipeline and --limit filter it', async () => {
    const records = await readRunRecords(ws);
    const all = await pop(ws, ['runs', '--json']);
    expect(all.exitCode, all.stderr).toBe(0);
    const list = JSON.parse(all.stdout) as unknown[];
    expect(Array.isArray(list)).toBe(true);
    expect(list.map((entry) => RunRecordSchema.parse(entry))).toEqual([...records].reverse());

    const ids = async (args: string[]) => {
      const result = await pop(ws, ['runs', '--json', ...args]);
      expect(result.exitCode, result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as unknown[]).map((entry) => RunRecordSchema.parse(entry).id);
    };
    expect(await ids(['--pipeline', 'alpha'])).toEqual([one]);
    expect(await ids(['--pipeline', 'beta'])).toEqual([two]);
    expect(await ids(['--pipeline', 'gamma'])).toEqual([]);
    expect(await ids(['--limit', '1'])).toEqual([two]);
    expect(await ids(['--limit', '0'])).toEqual([two, one]);
    expect(await ids(['--since', '2000-01-01', '--until', '2999-12-31'])).toEqual([two, one]);
    expect(await ids(['--since', '2999-01-01'])).toEqual([]);
    // A bare date for --until is the whole of that day.
    const day = records[0]!.completedAt.slice(0, 10);
    expect(await ids(['--until', day, '--pipeline', 'alpha'])).toEqual([one]);

    const none = await pop(ws, ['runs', '--pipeline', 'gamma']);
    expect(none).toMatchObject({ exitCode: 0, stdout: 'No completed runs match.' });
  });

  it('runs --since with a date it cannot read exits 2', async () => {
    const result = await pop(ws, ['runs', '--since', 'last tuesday-ish']);
    expect(result).toMatchObject({ exitCode: 2, stdout: '', stderr: 'pop: --since takes a date such as 2026-11-24 or 2026-11-24T10:00:00Z' });
    const until = await pop(ws, ['runs', '--until', 'soon']);
    expect(until).toMatchObject({ exitCode: 2, stderr: 'pop: --until takes a date such as 2026-11-24 or 2026-11-24T10:00:00Z' });
  });
});
