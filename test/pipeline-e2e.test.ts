import { createHash } from 'node:crypto';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LetterSchema } from '../src/formats/letter.js';
import { OutputSchema } from '../src/formats/output.js';
import { RunStatusSchema } from '../src/formats/tasks-status.js';
import {
  ASK_TASK,
  copyExample,
  listDir,
  makeWorkspace,
  parseEvents,
  pendingSeeds,
  readJson,
  readRunRecords,
  readValid,
  registryModule,
  runDirs,
  runPop,
  startDaemon,
} from './support/workspace.js';

const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

// Reads the first task's value through its context and keeps it in its own output.
const COMMENT_TASK = `import { defineTask, z } from 'pop';
export default defineTask({
  output: z.object({ comment: z.string().min(1) }),
  prompt: ({ inputs }) => \`Comment on this answer: \${inputs.ask.answer}\`,
  finalize: (value, ctx) => ({
    comment: value.comment,
    basedOn: ctx.inputs.ask.answer,
    shouted: String(ctx.inputs.ask.answer).toUpperCase(),
  }),
});
`;

const PIPELINE = { name: 'qa', description: 'ask, then comment on the answer', tasks: ['ask', 'comment'] };

// Pretty-printed, non-ASCII, trailing newline: any re-serialisation would change the bytes.
const SEED = '{\n  "q": "What colour is the sky on a clear day?",\n  "note": "ünïcödé ✓ — keep these bytes"\n}\n';

const TASK_FILES = [
  'letter.json',
  '01-ingestion.json',
  '02-preprocessed.json',
  '03-prompt.md',
  '03-prompt.json',
  '04-response.json',
  '05-parsed.json',
  '06-validation.json',
  'output.json',
];

describe('a seed dropped into a running daemon', () => {
  it('runs through both tasks and lands complete in pipeline-complete/<id>/ with every artifact', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': PIPELINE,
      'pipeline-tasks/index.js': registryModule(['ask', 'comment']),
      'pipeline-tasks/ask.js': ASK_TASK,
      'pipeline-tasks/comment.js': COMMENT_TASK,
    });
    const pipelineBytes = await readFile(ws.pipelineFile);
    const daemon = await startDaemon(ws);
    expect(daemon.events[0]).toMatchObject({ event: 'manager-started', pipeline: 'qa', tasks: ['ask', 'comment'], once: false });

    await writeFile(join(ws.pending, 'sky.json'), SEED);

    const claimed = await daemon.waitForEvent('seed-claimed', (line) => line.seed === 'sky.json');
    const runId = String(claimed.run);
    expect(runId).toMatch(/^\d{8}-\d{6}-sky-[0-9a-z]{6}$/);
    const done = await daemon.waitForEvent('run-complete', (line) => line.run === runId);
    const runDir = join(ws.complete, runId);
    expect(done.dir).toBe(runDir);

    // The run folder: seed and pipeline exactly as they were, status, log, tasks.
    expect(await listDir(runDir)).toEqual(['pipeline.json', 'run.log', 'seed.json', 'source.json', 'tasks', 'tasks-status.json']);
    expect((await readFile(join(runDir, 'seed.json'))).equals(Buffer.from(SEED))).toBe(true);
    expect((await readFile(join(runDir, 'pipeline.json'))).equals(pipelineBytes)).toBe(true);
    expect(await listDir(join(runDir, 'tasks'))).toEqual(['ask', 'comment']);

    const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
    expect(status).toMatchObject({ id: runId, pipeline: 'qa', state: 'complete', running: [], source: { file: 'sky.json', sha256: sha256(SEED) } });
    expect(status.error).toBeUndefined();
    expect(Object.keys(status.tasks)).toEqual(['ask', 'comment']);
    for (const task of Object.values(status.tasks)) {
      expect(task).toMatchObject({ state: 'complete', attempts: 1, refinements: 0, model: 'mock:default', usage: { calls: 1 } });
      expect(task.error).toBeUndefined();
    }

    // Every task folder has the artifact of every stage, and no refinement was needed.
    const outputs: Record<string, { value: unknown }> = {};
    for (const [index, task] of ['ask', 'comment'].entries()) {
      const dir = join(runDir, 'tasks', task);
      const files = await listDir(dir);
      expect(files).toEqual(expect.arrayContaining(TASK_FILES));
      expect(files).not.toContain('04-response.2.json');
      expect(files).not.toContain('07-critique.json');

      const letter = await readValid(LetterSchema, join(dir, 'letter.json'));
      expect(letter).toMatchObject({ runId, task, module: task, attempt: 1, model: ['mock:default'], config: {}, maxRefinements: 2 });
      expect(letter.inputs).toEqual(index === 0 ? {} : { ask: 'tasks/ask/output.json' });

      expect(await readJson(join(dir, '04-response.json'))).toMatchObject({ call: 1, model: 'mock:default', text: expect.any(String) });
      expect(await readJson(join(dir, '05-parsed.json'))).toMatchObject({ ok: true });
      expect(await readJson(join(dir, '06-validation.json'))).toEqual({ call: 1, ok: true, issues: [] });
      expect(await readFile(join(dir, '03-prompt.md'), 'utf8')).toContain(`task ${task} · run ${runId} · attempt 1`);

      const output = await readValid(OutputSchema, join(dir, 'output.json'));
      expect(output).toMatchObject({ task, model: 'mock:default', refinements: 0, usage: { calls: 1 } });
      outputs[task] = output;
    }

    // The second task saw the first task's value through its context.
    const answer = (outputs.ask!.value as { answer: string }).answer;
    expect(answer.length).toBeGreaterThan(0);
    expect(outputs.comment?.value).toEqual({ comment: expect.any(String), basedOn: answer, shouted: answer.toUpperCase() });
    const commentPrompt = (await readJson(join(runDir, 'tasks', 'comment', '03-prompt.json'))) as { messages: Array<{ role: string; content: string }> };
    expect(commentPrompt.messages).toEqual([{ role: 'user', content: `Comment on this answer: ${answer}` }]);
    // The default ingestion refers to the seed and the earlier output rather than copying them.
    expect(await readJson(join(runDir, 'tasks', 'comment', '01-ingestion.json'))).toEqual({
      seed: { $ref: '../../seed.json' },
      inputs: { ask: { $ref: '../../tasks/ask/output.json#/value' } },
    });

    // run.log: this run's events, as JSON lines.
    const runLog = parseEvents(await readFile(join(runDir, 'run.log'), 'utf8'));
    expect(runLog.every((line) => line.run === runId)).toBe(true);
    expect(runLog.map((line) => line.event)).toEqual(['run-started', 'task-started', 'task-complete', 'task-started', 'task-complete', 'run-complete']);

    // runs.jsonl: exactly one line, for this run.
    const records = await readRunRecords(ws);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      id: runId,
      pipeline: 'qa',
      seed: 'sky.json',
      totals: { calls: 2 },
      sha256: { seed: sha256(SEED), pipeline: sha256(pipelineBytes) },
    });
    expect(records[0]?.tasks.map((task) => task.name)).toEqual(['ask', 'comment']);

    // Nothing left behind.
    expect(await pendingSeeds(ws)).toEqual([]);
    expect(await runDirs(ws.current)).toEqual([]);
    expect(await runDirs(ws.complete)).toEqual([runId]);

    expect(daemon.exited()).toBe(false);
    const stopped = await daemon.stop();
    expect(stopped.exitCode).toBe(0);
    expect(stopped.events.at(-1)).toMatchObject({ event: 'manager-stopped', completed: 1, failed: 0, rejected: 0 });
  });
});

describe('the shipped example', () => {
  it('runs the example seeds to completion with start --once: a fan-out over the long one, two branches side by side', async () => {
    const ws = await makeWorkspace({});
    await copyExample(ws);
    const seeds = (await readdir(ws.path('examples', 'seeds'))).filter((name) => name.endsWith('.json')).sort();
    expect(seeds).toHaveLength(3);
    for (const seed of seeds) await cp(ws.path('examples', 'seeds', seed), join(ws.pending, seed));

    const result = await runPop(ws, ['start', '--once']);
    const failures = result.events.filter((line) => line.event === 'run-failed' || line.event === 'task-failed');
    expect(failures, 'no task or run failed').toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('3 run(s) complete, 0 failed, 0 seed(s) rejected');

    const records = await readRunRecords(ws);
    expect(records).toHaveLength(3);
    expect(records.map((record) => record.seed).sort()).toEqual(seeds);
    expect(await runDirs(ws.complete)).toEqual(records.map((record) => record.id).sort());
    for (const record of records) {
      const runDir = join(ws.complete, record.id);
      expect(record.tasks.map((task) => task.name)).toEqual(['extract-facts', 'outline', 'open-questions', 'write-brief']);
      const status = await readValid(RunStatusSchema, join(runDir, 'tasks-status.json'));
      expect(status.state).toBe('complete');
      // The facts come from every part of the document: one item per part, only the first refined.
      const facts = join(runDir, 'tasks', 'extract-facts');
      const items = (await readdir(join(facts, 'items'))).sort();
      expect(status.tasks['extract-facts']?.items).toMatchObject({ total: items.length, complete: items.length, failed: 0 });
      if (record.seed === 'harrow-valley-review.json') expect(items.length).toBeGreaterThan(10);
      for (const item of items) {
        const files = await readdir(join(facts, 'items', item));
        expect(files).toContain('output.json');
        expect(files.includes('04-response.2.json'), `item ${item} refined`).toBe(item === '0001');
      }
      const factsOutput = await readValid(OutputSchema, join(facts, 'output.json'));
      expect((factsOutput.value as { parts: number }).parts).toBe(items.length);
      // outline and open-questions both need only the facts; write-brief needs both of them.
      const letter = await readValid(LetterSchema, join(runDir, 'tasks', 'write-brief', 'letter.json'));
      expect(Object.keys(letter.inputs).sort()).toEqual(['extract-facts', 'open-questions', 'outline']);
      const brief = await readFile(join(runDir, 'tasks', 'write-brief', 'brief.md'), 'utf8');
      const output = await readValid(OutputSchema, join(runDir, 'tasks', 'write-brief', 'output.json'));
      expect((output.value as { markdown: string }).markdown).toBe(brief);
      expect(brief).toMatch(/^# \S/);
      // The mock answers in the document's own sentences: the brief is an extract of it.
      const document = String((JSON.parse(await readFile(join(runDir, 'seed.json'), 'utf8')) as { document: string }).document).replace(/\s+/g, ' ');
      const body = brief.split('## Open questions')[0]!.split('\n').slice(2).join(' ').trim();
      expect(brief).toContain('## Open questions');
      const sentences = body.match(/[^.!?]+[.!?]+/g) ?? [];
      expect(sentences.length).toBeGreaterThanOrEqual(2);
      for (const sentence of sentences) expect(document, sentence).toContain(sentence.trim());
    }
    expect(await pendingSeeds(ws)).toEqual([]);
    expect(await runDirs(ws.current)).toEqual([]);
  });
});
