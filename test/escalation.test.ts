/**
 * Escalation: a reply that keeps failing validation on the task's (cheap) model is refined on the
 * next rung of its ladder, per fan-out item; API errors still fall back within a rung. Real
 * processes against the fake server, whose answer depends on the model asked.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerOf } from './support/ledger.js';
import { ItemOutputSchema } from '../src/formats/items.js';
import { OutputSchema } from '../src/formats/output.js';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import { pop } from './support/cli.js';
import {
  fromRequest,
  GOOD_VALUE,
  JSON_TASK,
  jsonReply,
  onlyRun,
  popEnv,
  runPopWithEnv,
  serverError,
  startFakeLlm,
  TEXT_TASK,
  type FakeLlm,
} from './support/fake-llm-server.js';
import { makeWorkspace, readRunRecords, readValid, registryModule, type Workspace } from './support/workspace.js';

/** A reply that breaks the task's schema (no confidence). */
const BAD_VALUE = { answer: 'I am not sure.' };

function ladderWorkspace(fake: FakeLlm, task: Record<string, unknown>, extra: Record<string, unknown> = {}, module = JSON_TASK): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': {
      name: 'ladder',
      models: { cheap: 'oai:cheap', strong: 'oai:strong', best: 'oai:best' },
      tasks: [{ name: 'ask', model: 'cheap', ...task }],
      providers: { oai: { type: 'openai', baseURL: fake.openaiBaseURL, maxRetries: 0 } },
      prices: {
        'oai:cheap': { inputPerMillion: 1, outputPerMillion: 1 },
        'oai:strong': { inputPerMillion: 10, outputPerMillion: 10 },
        'oai:best': { inputPerMillion: 100, outputPerMillion: 100 },
      },
      ...extra,
    },
    'pipeline-tasks/index.js': registryModule(['ask']),
    'pipeline-tasks/ask.js': module,
    'pipeline-pending/q.json': { q: 'Why is the sea salty?' },
  });
}

const start = (ws: Workspace) => runPopWithEnv(ws, ['start', '--once'], popEnv());
/** Models in the order the server was asked. */
const asked = (fake: FakeLlm) => fake.requests.map((request) => request.model);

describe('escalation', () => {
  it('a cheap model that never validates: refined once on it, then on the strong one, which completes the task; each call priced at its own model', async () => {
    const fake = await startFakeLlm();
    fake.always(fromRequest((request) => jsonReply(request.model === 'strong' ? GOOD_VALUE : BAD_VALUE, { input: 100, output: 100 })));
    const ws = await ladderWorkspace(fake, { escalate: ['strong'] });
    const result = await start(ws);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(asked(fake)).toEqual(['cheap', 'cheap', 'strong']);
    const runDir = await onlyRun(ws, 'complete');
    const output = await readValid(OutputSchema, join(runDir, 'tasks', 'ask', 'output.json'));
    expect(output).toMatchObject({ model: 'oai:strong', escalations: 1, refinements: 2 });
    const lines = await ledgerOf(runDir, 'ask');
    expect(lines.map((line) => [line.model, line.rung ?? 0, line.costUsd])).toEqual([
      ['oai:cheap', 0, 200 / 1e6],
      ['oai:cheap', 0, 200 / 1e6],
      ['oai:strong', 1, 2000 / 1e6],
    ]);
    // The refinement on the strong model carries the rejected reply and the critique.
    expect(fake.requests[2]?.body.messages.map((message: { role: string }) => message.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
    ]);
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask).toMatchObject({ escalations: 1, model: 'oai:strong', byModel: { 'oai:cheap': { calls: 2 }, 'oai:strong': { calls: 1 } } });
    const [record] = await readRunRecords(ws);
    expect(record?.totals).toMatchObject({ calls: 3, escalations: 1 });
    expect(record?.totals.byModel?.['oai:strong']?.costUsd).toBeCloseTo(0.002, 12);

    const shown = await pop(ws, ['status', record!.id]);
    expect(shown.stdout).toContain('oai:strong (escalated ×1)');
    expect(shown.stdout).toMatch(/oai:cheap\s+2\s+200\/200\s+\$0\.0004/);
    expect((await pop(ws, ['runs'])).stdout).toMatch(/ESCALATED/);
    const cost = JSON.parse((await pop(ws, ['cost', '--json'])).stdout);
    expect(cost.rows.map((row: { model: string; calls: number }) => [row.model, row.calls])).toEqual([
      ['oai:cheap', 2],
      ['oai:strong', 1],
    ]);
  });

  it('compare shows a task answered by another model in the second run', async () => {
    const fake = await startFakeLlm();
    let cheapFails = false;
    fake.always(fromRequest((request) => jsonReply(request.model === 'cheap' && cheapFails ? BAD_VALUE : GOOD_VALUE)));
    const ws = await ladderWorkspace(fake, { escalate: ['strong'] });
    expect((await start(ws)).exitCode).toBe(0);
    cheapFails = true;
    await writeFile(ws.path('pipeline-pending', 'again.json'), JSON.stringify({ q: 'Why is the sea salty?' }));
    expect((await start(ws)).exitCode).toBe(0);
    const records = await readRunRecords(ws);
    const first = records.find((record) => record.seed === 'q.json')!.id;
    const second = records.find((record) => record.seed === 'again.json')!.id;
    const compared = await pop(ws, ['compare', first, second]);
    expect(compared.exitCode, compared.stderr).toBe(0);
    expect(compared.stdout).toContain('ask: model oai:cheap → oai:strong');
  });

  it('escalateAfter: 2 gives the cheap model two refinements before moving up', async () => {
    const fake = await startFakeLlm();
    fake.always(fromRequest((request) => jsonReply(request.model === 'strong' ? GOOD_VALUE : BAD_VALUE)));
    const ws = await ladderWorkspace(fake, { escalate: ['strong'], escalateAfter: 2, maxRefinements: 3 });
    expect((await start(ws)).exitCode).toBe(0);
    expect(asked(fake)).toEqual(['cheap', 'cheap', 'cheap', 'strong']);
  });

  it('a ladder of three rungs where only the last validates', async () => {
    const fake = await startFakeLlm();
    fake.always(fromRequest((request) => jsonReply(request.model === 'best' ? GOOD_VALUE : BAD_VALUE)));
    const ws = await ladderWorkspace(fake, { escalate: ['strong', 'best'], maxRefinements: 4 });
    expect((await start(ws)).exitCode).toBe(0);
    // The refinement that reaches a rung is its first: with escalateAfter 1, the next failure moves up again.
    expect(asked(fake)).toEqual(['cheap', 'cheap', 'strong', 'best']);
    const output = await readValid(OutputSchema, join(await onlyRun(ws, 'complete'), 'tasks', 'ask', 'output.json'));
    expect(output).toMatchObject({ model: 'oai:best', escalations: 2 });
  });

  it("the cheap model's API error falls back within its rung and is no escalation", async () => {
    const fake = await startFakeLlm();
    fake.always(fromRequest((request) => (request.model === 'cheap' ? serverError(1) : jsonReply(GOOD_VALUE))));
    const ws = await ladderWorkspace(
      fake,
      { model: 'cheaps', escalate: ['strong'] },
      { models: { cheaps: ['oai:cheap', 'oai:cheap-backup'], strong: 'oai:strong' } },
    );
    expect((await start(ws)).exitCode).toBe(0);
    expect(asked(fake)).toEqual(['cheap', 'cheap-backup']);
    const output = await readValid(OutputSchema, join(await onlyRun(ws, 'complete'), 'tasks', 'ask', 'output.json'));
    expect(output.model).toBe('oai:cheap-backup');
    expect(output.escalations).toBeUndefined();
  });

  it('in a fan-out each item climbs on its own: only the two hard items reach the strong model', async () => {
    const FAN = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ answer: z.string().min(1), confidence: z.number().min(0).max(1) }),
  each: () => Array.from({ length: 10 }, (_, i) => i),
  prompt: (i) => 'question ' + i,
  finalize: (values) => values.length,
});
`;
    const fake = await startFakeLlm();
    const hard = (request: { body: { messages: Array<{ content: string }> } }) =>
      /question (3|7)\b/.test(request.body.messages.map((message) => message.content).join(' '));
    fake.always(fromRequest((request) => jsonReply(request.model === 'strong' || !hard(request) ? GOOD_VALUE : BAD_VALUE)));
    const ws = await ladderWorkspace(fake, { escalate: ['strong'] }, {}, FAN);
    expect((await start(ws)).exitCode).toBe(0);
    expect(fake.requestsFor('strong')).toHaveLength(2);
    expect(fake.requestsFor('cheap')).toHaveLength(12);
    const runDir = await onlyRun(ws, 'complete');
    const item = (n: number) => readValid(ItemOutputSchema, join(runDir, 'tasks', 'ask', 'items', String(n).padStart(4, '0'), 'output.json'));
    expect(await item(4)).toMatchObject({ model: 'oai:strong', escalations: 1 });
    expect(await item(5)).toMatchObject({ model: 'oai:cheap' });
    expect((await item(5)).escalations).toBeUndefined();
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.tasks.ask).toMatchObject({ escalations: 2, byModel: { 'oai:cheap': { calls: 12 }, 'oai:strong': { calls: 2 } } });
  });

  it('an unknown alias or an undeclared provider in escalate stops start and shows in validate with its place; escalate on a task nothing can fail is a warning', async () => {
    const fake = await startFakeLlm();
    const ws = await ladderWorkspace(fake, { escalate: ['stronk', 'nowhere:big'] });
    const started = await start(ws);
    expect(started.exitCode).toBe(2);
    expect(started.stderr).toContain('tasks[0].escalate[0]: model "stronk" is neither an alias in "models" nor of the form provider:model');
    expect(started.stderr).toContain('tasks[0].escalate[1]: provider "nowhere" of "nowhere:big" is not declared in "providers"');
    const validated = await pop(ws, ['validate']);
    expect(validated.exitCode).toBe(1);
    expect(validated.stdout).toContain('tasks[0].escalate[0]');
    expect(fake.requests).toHaveLength(0);

    const text = await ladderWorkspace(fake, { escalate: ['strong'] }, {}, TEXT_TASK);
    const warned = await pop(text, ['validate']);
    expect(warned.exitCode).toBe(0);
    expect(warned.stdout).toContain('warning: ');
    expect(warned.stdout).toContain('tasks[0] "ask" has "escalate", but its task has neither an output schema nor a validate check');
  });

  it('offline: the mock fails a share of items on the cheap model, and they escalate to the strong one', async () => {
    const FAN = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ title: z.string().min(1), points: z.array(z.string()).min(1) }),
  each: () => Array.from({ length: 20 }, (_, i) => 'Part ' + i + ' of the text. It says something of its own, number ' + i + '.'),
  prompt: (part) => part,
  finalize: (values) => values.length,
});
`;
    const ws = await makeWorkspace({
      'pipeline.json': {
        name: 'mock-ladder',
        tasks: [{ name: 'fan', model: 'mock:cheap', escalate: ['mock:strong'], mock: { failShare: 0.3, failModel: 'mock:cheap' } }],
      },
      'pipeline-tasks/index.js': registryModule(['fan']),
      'pipeline-tasks/fan.js': FAN,
      'pipeline-pending/q.json': { q: 'x' },
    });
    const result = await runPopWithEnv(ws, ['start', '--once'], popEnv());
    expect(result.exitCode, result.stderr).toBe(0);
    const status = await readValid(RunStatusSchema, join(await onlyRun(ws, 'complete'), 'tasks-status.json'));
    const escalated = status.tasks.fan?.escalations ?? 0;
    expect(escalated).toBeGreaterThan(0);
    expect(escalated).toBeLessThan(20);
    expect(status.tasks.fan?.byModel?.['mock:strong']?.calls).toBe(escalated);
  });
});
