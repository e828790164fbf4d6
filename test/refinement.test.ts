import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutputSchema } from '../src/formats/output.js';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import {
  ASK_TASK,
  listDir,
  makeWorkspace,
  pendingSeeds,
  readJson,
  readRunRecords,
  readValid,
  registryModule,
  runDirs,
  runPop,
  type Workspace,
} from './support/workspace.js';

// Passes the schema every time, then fails its own quality check every time.
const PICKY_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ answer: z.string().min(1) }),
  prompt: ({ seed }) => \`Answer: \${seed.q}\`,
  validate: () => 'the answer is never good enough for this task',
});
`;

const SEED = { q: 'Why is the sea salty?' };

/** A one-task workspace with one pending seed, `q.json`. */
async function oneTaskWorkspace(task: Record<string, unknown>, module = ASK_TASK): Promise<Workspace> {
  return makeWorkspace({
    'pipeline.json': { name: 'refine', tasks: [{ name: 'ask', ...task }] },
    'pipeline-tasks/index.js': registryModule(['ask']),
    'pipeline-tasks/ask.js': module,
    'pipeline-pending/q.json': SEED,
  });
}

/** The single run of a workspace, wherever it is. */
async function onlyRun(ws: Workspace, where: 'complete' | 'current'): Promise<string> {
  const dirs = await runDirs(where === 'complete' ? ws.complete : ws.current);
  expect(dirs).toHaveLength(1);
  return join(where === 'complete' ? ws.complete : ws.current, dirs[0] as string);
}

describe('the refinement loop', () => {
  for (const failure of ['broken-json', 'invalid-value'] as const) {
    it(`re-prompts after ${failure} replies and completes after 2 refinements`, async () => {
      const ws = await oneTaskWorkspace({ maxRefinements: 2, mock: { failFirst: 2, failure } });
      const result = await runPop(ws, ['start', '--once']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toContain('1 run(s) complete, 0 failed');

      const runDir = await onlyRun(ws, 'complete');
      expect(await runDirs(ws.current)).toEqual([]);
      const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
      expect(status.state).toBe('complete');
      expect(status.tasks.ask).toMatchObject({ state: 'complete', attempts: 1, refinements: 2, usage: { calls: 3 } });

      const taskDir = join(runDir, 'tasks', 'ask');
      const output = await readValid(OutputSchema, join(taskDir, 'output.json'));
      expect(output).toMatchObject({ task: 'ask', refinements: 2, model: 'mock:default', usage: { calls: 3 } });
      expect(output.value).toEqual({ answer: expect.any(String) });

      const files = await listDir(taskDir);
      expect(files).toEqual(
        expect.arrayContaining([
          '04-response.json',
          '04-response.2.json',
          '04-response.3.json',
          '05-parsed.json',
          '05-parsed.2.json',
          '05-parsed.3.json',
          '06-validation.json',
          '06-validation.2.json',
          '06-validation.3.json',
          '07-critique.json',
          '07-critique.2.json',
          'output.json',
        ]),
      );
      expect(files).not.toContain('04-response.4.json');
      expect(files).not.toContain('07-critique.3.json');
      // One prompt: refinements extend the conversation, they do not re-run the prompt stage.
      expect(files.filter((name) => name.startsWith('03-prompt'))).toEqual(['03-prompt.json', '03-prompt.md']);

      // The two bad replies failed validation for the reason the mock was told to give.
      const expectedKind = failure === 'broken-json' ? 'parse' : 'structure';
      for (const name of ['06-validation.json', '06-validation.2.json']) {
        const validation = (await readJson(join(taskDir, name))) as { ok: boolean; issues: Array<{ kind: string }> };
        expect(validation.ok).toBe(false);
        expect(validation.issues.length).toBeGreaterThan(0);
        expect(validation.issues.every((issue) => issue.kind === expectedKind)).toBe(true);
      }
      expect(await readJson(join(taskDir, '06-validation.3.json'))).toEqual({ call: 3, ok: true, issues: [] });
      expect(await readJson(join(taskDir, '05-parsed.json'))).toMatchObject({ ok: failure === 'invalid-value' });
      expect(await readJson(join(taskDir, '05-parsed.3.json'))).toEqual({ ok: true, value: output.value });

      // Each critique is fed back: every call sends a longer conversation than the one before.
      const critique1 = (await readJson(join(taskDir, '07-critique.json'))) as { afterCall: number; feedback: string };
      const critique2 = (await readJson(join(taskDir, '07-critique.2.json'))) as { afterCall: number; feedback: string };
      expect(critique1.afterCall).toBe(1);
      expect(critique2.afterCall).toBe(2);
      expect(critique1.feedback).toContain('Your previous reply could not be accepted');
      const inputTokens = async (name: string) => ((await readJson(join(taskDir, name))) as { usage: { inputTokens: number } }).usage.inputTokens;
      const sent = [await inputTokens('04-response.json'), await inputTokens('04-response.2.json'), await inputTokens('04-response.3.json')];
      expect(sent[1]).toBeGreaterThan(sent[0] as number);
      expect(sent[2]).toBeGreaterThan(sent[1] as number);

      const records = await readRunRecords(ws);
      expect(records).toHaveLength(1);
      expect(records[0]?.tasks).toEqual([expect.objectContaining({ name: 'ask', attempts: 1, refinements: 2 })]);
      expect(records[0]?.totals.calls).toBe(3);
    });
  }

  it('fails the run with refinements-exhausted when no reply ever validates', async () => {
    const ws = await oneTaskWorkspace({ maxRefinements: 2, mock: { failFirst: 99, failure: 'broken-json' } });
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('0 run(s) complete, 1 failed');

    const runDir = await onlyRun(ws, 'current');
    expect(await runDirs(ws.complete)).toEqual([]);
    expect(await readRunRecords(ws)).toEqual([]);
    expect(await pendingSeeds(ws)).toEqual([]);

    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status).toMatchObject({ state: 'failed', running: [] });
    const task = status.tasks.ask;
    expect(task).toMatchObject({ state: 'failed', attempts: 1, refinements: 2, usage: { calls: 3 } });
    expect(task?.error).toMatchObject({ reason: 'refinements-exhausted', stage: 'validation', artifact: 'tasks/ask/06-validation.3.json' });
    expect(task?.error?.message).toContain('after 2 refinements');
    expect(task?.error?.issues?.length).toBeGreaterThan(0);
    for (const issue of task?.error?.issues ?? []) expect(issue).toMatch(/^\(parse\) .*not valid JSON/);
    expect(status.error).toMatchObject({ task: 'ask', reason: 'refinements-exhausted', issues: task?.error?.issues });

    const files = await listDir(join(runDir, 'tasks', 'ask'));
    expect(files).toEqual(expect.arrayContaining(['04-response.3.json', '06-validation.3.json', '07-critique.2.json']));
    expect(files).not.toContain('output.json');
    expect(files).not.toContain('07-critique.3.json');
    expect(result.events).toContainEqual(expect.objectContaining({ event: 'run-failed', task: 'ask', reason: 'refinements-exhausted' }));
  });

  it("fails with the task's own message when its quality check always rejects", async () => {
    const ws = await oneTaskWorkspace({ maxRefinements: 1 }, PICKY_TASK);
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode).toBe(1);

    const runDir = await onlyRun(ws, 'current');
    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status.state).toBe('failed');
    const error = status.tasks.ask?.error;
    expect(error).toMatchObject({
      reason: 'refinements-exhausted',
      stage: 'validation',
      issues: ['(quality) the answer is never good enough for this task'],
      artifact: 'tasks/ask/06-validation.2.json',
    });
    expect(error?.message).toContain('the answer is never good enough for this task');
    expect(status.tasks.ask).toMatchObject({ state: 'failed', refinements: 1, usage: { calls: 2 } });

    // The replies were well-formed: parsing succeeded, only the quality check said no.
    const taskDir = join(runDir, 'tasks', 'ask');
    expect(await readJson(join(taskDir, '05-parsed.json'))).toMatchObject({ ok: true });
    expect(await readJson(join(taskDir, '06-validation.2.json'))).toEqual({
      call: 2,
      ok: false,
      issues: [{ kind: 'quality', message: 'the answer is never good enough for this task' }],
    });
    expect(await readFile(join(taskDir, '07-critique.json'), 'utf8')).toContain('the answer is never good enough for this task');
    expect(await runDirs(ws.complete)).toEqual([]);
  });
});
