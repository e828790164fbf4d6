/**
 * What a new user ran into, each fixed: submit checks the seedSchema, pipeline.json may have
 * comments, a misspelt stage is named where it is, an ambiguous run id has its own exit code.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pop } from './support/cli.js';
import { ASK_TASK, makeWorkspace, readRunRecords, registryModule, runPop } from './support/workspace.js';

const SEED_SCHEMA = `import { z } from 'pop';\nexport const seedSchema = z.object({ document: z.string().min(1), title: z.string().optional() });`;

describe('submit', () => {
  it("refuses a seed that does not fit the registry's seedSchema, and names one from standard input with --name", async () => {
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'briefs', tasks: ['ask'] },
      'pipeline-tasks/index.js': registryModule(['ask'], SEED_SCHEMA),
      'pipeline-tasks/ask.js': ASK_TASK,
      'seeds/no-document.json': { title: 'A title and nothing else' },
    });
    const refused = await pop(ws, ['submit', 'seeds/no-document.json']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      `pop: seeds/no-document.json: does not match the seedSchema of ${ws.path('pipeline-tasks', 'index.js')}: document: required (a string)`,
    );
    expect(await readdir(ws.pending)).toEqual([]);

    const seed = '{ "document": "Short text." }\n';
    const named = await pop(ws, ['submit', '-', '--name', 'from-stdin'], { input: seed });
    expect(named).toMatchObject({ exitCode: 0, stdout: 'from-stdin.json', stderr: '' });
    expect(await readFile(join(ws.pending, 'from-stdin.json'), 'utf8')).toBe(seed);

    const piped = await pop(ws, ['submit', '-'], { input: '{ "title": "no document" }' });
    expect(piped.exitCode).toBe(2);
    expect(piped.stderr).toMatch(/^pop: standard input: does not match the seedSchema of .*: document: required \(a string\)$/);

    const twoNamed = await pop(ws, ['submit', 'seeds/no-document.json', '-', '--name', 'x']);
    expect(twoNamed).toMatchObject({ exitCode: 2, stderr: 'pop: --name names one seed; give one file (or -)' });
    expect(await readdir(ws.pending)).toEqual(['from-stdin.json']);
  });
});

describe('pipeline.json', () => {
  it('may have comments and trailing commas: accepted by validate and start, and the run keeps the file as written', async () => {
    const pipeline = `{
  // The tasks, in order.
  "name": "commented",
  "tasks": [
    "ask", /* the only one */
  ],
}
`;
    const ws = await makeWorkspace({
      'pipeline.json': pipeline,
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': ASK_TASK,
      'pipeline-pending/sky.json': { q: 'What colour is the sky?' },
    });
    const validate = await pop(ws, ['validate']);
    expect(validate.exitCode, validate.stdout).toBe(0);
    const start = await runPop(ws, ['start', '--once']);
    expect(start.exitCode, start.stderr).toBe(0);
    const [record] = await readRunRecords(ws);
    expect(record?.pipeline).toBe('commented');
    expect(await readFile(join(ws.complete, record!.id, 'pipeline.json'), 'utf8')).toBe(pipeline);
  });

  it('that does not parse is reported with its line and column', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': '{\n  "name": "broken",\n  "tasks": ["ask"]\n  "models": {}\n}\n',
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': ASK_TASK,
    });
    const start = await runPop(ws, ['start', '--once']);
    expect(start.exitCode).toBe(2);
    expect(start.stderr).toBe(`pop: ${ws.pipelineFile}: not valid JSON at line 4, column 3: comma expected`);
    const validate = await pop(ws, ['validate']);
    expect(validate.exitCode).toBe(1);
    expect(validate.stdout).toContain(`problem: ${ws.pipelineFile}: not valid JSON at line 4, column 3: comma expected`);
  });
});

describe('a misspelt stage', () => {
  it('is reported against the task module, with the stage it resembles', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'typos', tasks: ['ask', 'check'] },
      'pipeline-tasks/index.js': registryModule(['ask', 'check']),
      'pipeline-tasks/ask.js': `import { defineTask } from 'pop';\nexport default defineTask({ promt: ({ seed }) => \`Answer: \${seed.q}\` });\n`,
      'pipeline-tasks/check.js': `import { defineTask } from 'pop';\nexport default defineTask({ prompt: () => 'Say hi', validat: () => [] });\n`,
    });
    const start = await runPop(ws, ['start', '--once']);
    expect(start.exitCode).toBe(2);
    expect(start.stderr.split('\n')).toEqual([
      `pop: ${ws.path('pipeline-tasks', 'ask.js')}: task "ask" has a function "promt", which is not a stage: did you mean "prompt"?`,
      `pop: ${ws.path('pipeline-tasks', 'check.js')}: task "check" has a function "validat", which is not a stage: did you mean "validate"?`,
    ]);
  });
});

describe('a run id', () => {
  it('that matches several runs exits 5, one that matches none exits 3', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'ids', tasks: ['ask'] },
      'pipeline-tasks/index.js': registryModule(['ask']),
      'pipeline-tasks/ask.js': ASK_TASK,
    });
    for (const id of ['20261124-101500-week-aaaaaa', '20261124-101501-week-bbbbbb']) await mkdir(join(ws.complete, id));
    for (const command of [
      ['status', 'week'],
      ['resume', 'week'],
      ['rerun', 'week', '--from', 'ask'],
    ]) {
      const result = await pop(ws, command);
      expect(result.exitCode, command.join(' ')).toBe(5);
      expect(result.stderr).toBe('pop: "week" matches several runs: 20261124-101500-week-aaaaaa, 20261124-101501-week-bbbbbb; give more of the id');
    }
    const missing = await pop(ws, ['status', 'month']);
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toMatch(/^pop: no run "month" in pipeline-current\/ or pipeline-complete\//);
  });
});
