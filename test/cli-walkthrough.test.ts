/**
 * The walkthrough of docs/cli.md, "a failing task, fixed and re-run", command for command, on a copy of the
 * shipped example (pipeline.json, pipeline-tasks/, examples/seeds/four-day-week.json):
 *
 *   pop submit examples/seeds/four-day-week.json
 *   pop start --once                          # write-brief fails (here: a typo put in it): exit 1
 *   pop status                                # the failed run, the task it stopped at
 *   pop status four-day                       # why: the error, the artifact to open, the logs
 *   # fix pipeline-tasks/write-brief.js
 *   pop resume four-day                       # continues at write-brief; earlier tasks are kept
 *   # edit the prompt in pipeline-tasks/write-brief.js
 *   pop rerun four-day --from write-brief
 *   pop runs                                  # both runs, newest first
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectSameTree, pop, readStatus, snapshotTree } from './support/cli.js';
import { copyExample, makeWorkspace, readRunRecords, runDirs } from './support/workspace.js';

/** Replace exactly one occurrence of `from` in a file (fails the test if it is not there once). */
async function editOnce(file: string, from: string, to: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  expect(text.split(from), `"${from}" occurs once in ${file}`).toHaveLength(2);
  await writeFile(file, text.replace(from, to));
}

const cells = (line: string | undefined) => (line ?? '').split(/ {2,}/);

describe('docs/cli.md walkthrough: a failing task, fixed and re-run', () => {
  it('submit, start --once fails, status says why, resume after the fix, rerun --from the last task with a new prompt', async () => {
    const ws = await makeWorkspace({});
    await copyExample(ws);
    const writeBrief = ws.path('pipeline-tasks', 'write-brief.js');
    const original = await readFile(writeBrief, 'utf8');

    // "say write-brief fails": a typo in its prompt.
    await editOnce(writeBrief, 'outline.sections.map(', 'outline.section.map(');

    // pop submit examples/seeds/four-day-week.json
    const submit = await pop(ws, ['submit', 'examples/seeds/four-day-week.json']);
    expect(submit).toMatchObject({ exitCode: 0, stdout: 'four-day-week.json', stderr: '' });

    // pop start --once: exit code 1
    const start = await pop(ws, ['start', '--once']);
    expect(start.exitCode, start.stderr).toBe(1);
    expect(start.stderr).toBe(`pop: 0 run(s) complete, 1 failed, 0 seed(s) rejected · failed runs stay in ${ws.current}`);

    // pop status: the failed run, the task it stopped at
    const overview = await pop(ws, ['status']);
    expect(overview.exitCode, overview.stderr).toBe(0);
    const [header, row, ...rest] = overview.stdout.split('\n');
    expect(cells(header)).toEqual(['RUN', 'STATE', 'TASK', 'DONE', 'AGE']);
    expect(rest).toEqual([]);
    const [id, state, task, done] = cells(row);
    expect(id).toMatch(/^\d{8}-\d{6}-four-day-week-[0-9a-z]{6}$/);
    expect([state, task, done]).toEqual(['failed', 'write-brief', '3/4']);
    expect(await runDirs(ws.current)).toEqual([id]);

    // pop status four-day: why
    const why = await pop(ws, ['status', 'four-day']);
    expect(why.exitCode, why.stderr).toBe(0);
    const folder = `pipeline-current/${id}`;
    const lines = why.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual([`run       ${id}`, 'state     failed (at write-brief)']);
    const at = lines.indexOf('write-brief failed (task-threw in prompt):');
    expect(at, why.stdout).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 4)).toEqual([
      "  prompt threw: Cannot read properties of undefined (reading 'map')",
      `  open: ${folder}/tasks/write-brief/02-preprocessed.json`,
      "  TypeError: Cannot read properties of undefined (reading 'map')",
    ]);
    // The stack points at the line of the task file with the typo.
    const typoLine = (await readFile(writeBrief, 'utf8')).split('\n').findIndex((line) => line.includes('outline.section.map(')) + 1;
    expect(lines[at + 4]).toMatch(new RegExp(`^      at Object\\.prompt \\(file://${writeBrief}:${typoLine}:\\d+\\)$`));
    expect(lines.at(-1)).toBe(`  logs: ${folder}/tasks/write-brief/task.log, ${folder}/tasks/write-brief/console.log`);
    const earlierBefore = {
      facts: await snapshotTree(join(ws.current, id!, 'tasks', 'extract-facts')),
      outline: await snapshotTree(join(ws.current, id!, 'tasks', 'outline')),
      questions: await snapshotTree(join(ws.current, id!, 'tasks', 'open-questions')),
    };

    // Fix write-brief.js; pop resume four-day: continues at write-brief, earlier tasks kept.
    await writeFile(writeBrief, original);
    const resume = await pop(ws, ['resume', 'four-day']);
    expect(resume.exitCode, resume.stderr).toBe(0);
    expect(resume.stderr).toBe(`pop: run ${id} complete`);
    expect(resume.events.filter((line) => line.event === 'task-started').map((line) => [line.task, line.attempt])).toEqual([['write-brief', 2]]);
    expect(await runDirs(ws.current)).toEqual([]);
    expect(await runDirs(ws.complete)).toEqual([id]);
    const runDir = join(ws.complete, id!);
    const resumed = await readStatus(runDir);
    expect(resumed.state).toBe('complete');
    expect(Object.entries(resumed.tasks).map(([name, status]) => [name, status.state, status.attempts])).toEqual([
      ['extract-facts', 'complete', 1],
      ['outline', 'complete', 1],
      ['open-questions', 'complete', 1],
      ['write-brief', 'complete', 2],
    ]);
    expectSameTree(await snapshotTree(join(runDir, 'tasks', 'extract-facts')), earlierBefore.facts);
    expectSameTree(await snapshotTree(join(runDir, 'tasks', 'outline')), earlierBefore.outline);
    expectSameTree(await snapshotTree(join(runDir, 'tasks', 'open-questions')), earlierBefore.questions);
    expect(await readFile(join(runDir, 'tasks', 'write-brief', 'brief.md'), 'utf8')).toMatch(/^# .+\n\n.+/);

    // Edit the prompt; pop rerun four-day --from write-brief: a new run with the new prompt.
    await editOnce(writeBrief, 'No headings, no lists.', 'No headings, no lists. Open with the most important number.');
    const rerun = await pop(ws, ['rerun', 'four-day', '--from', 'write-brief']);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    const match = new RegExp(`^rerun of ${id} from write-brief: new run (\\d{8}-\\d{6}-four-day-week-[0-9a-z]{6})$`).exec(rerun.stdout.split('\n')[0] ?? '');
    expect(match, rerun.stdout).not.toBeNull();
    const newId = match![1]!;
    expect(rerun.stderr).toBe(`pop: run ${newId} complete`);
    expect(rerun.events.filter((line) => line.event === 'task-started').map((line) => [line.task, line.attempt])).toEqual([['write-brief', 1]]);
    expect(await runDirs(ws.complete)).toEqual([id, newId].sort());

    const newDir = join(ws.complete, newId);
    // The tasks before it are byte-for-byte copies: only the edited step made model calls.
    expectSameTree(await snapshotTree(join(newDir, 'tasks', 'extract-facts')), earlierBefore.facts);
    expectSameTree(await snapshotTree(join(newDir, 'tasks', 'outline')), earlierBefore.outline);
    expectSameTree(await snapshotTree(join(newDir, 'tasks', 'open-questions')), earlierBefore.questions);
    const newPrompt = await readFile(join(newDir, 'tasks', 'write-brief', '03-prompt.md'), 'utf8');
    expect(newPrompt).toContain('No headings, no lists. Open with the most important number.');
    const oldPrompt = await readFile(join(runDir, 'tasks', 'write-brief', '03-prompt.md'), 'utf8');
    expect(oldPrompt).toContain('No headings, no lists.');
    expect(oldPrompt).not.toContain('Open with the most important number.');
    expect(await readFile(join(newDir, 'tasks', 'write-brief', 'brief.md'), 'utf8')).toMatch(/^# .+\n\n.+/);
    expect(await readStatus(newDir)).toMatchObject({ state: 'complete', rerunOf: { run: id, from: 'write-brief' } });

    // pop runs: both runs, newest first
    const runs = await pop(ws, ['runs']);
    expect(runs.exitCode, runs.stderr).toBe(0);
    expect(
      runs.stdout
        .split('\n')
        .slice(1, -1)
        .map((line) => cells(line).slice(0, 3)),
    ).toEqual([
      [newId, 'document-brief', 'four-day-week.json'],
      [id, 'document-brief', 'four-day-week.json'],
    ]);
    expect((await readRunRecords(ws)).map((record) => record.id)).toEqual([id, newId]);

    // From here on "four-day" names two runs: a part of an id must be unique (exit 5, both listed).
    const ambiguous = await pop(ws, ['status', 'four-day']);
    expect(ambiguous).toMatchObject({ exitCode: 5, stdout: '' });
    expect(ambiguous.stderr).toMatch(/^pop: "four-day" matches several runs: .*; give more of the id$/);
    expect(
      ambiguous.stderr
        .replace(/^pop: "four-day" matches several runs: /, '')
        .replace(/; give more of the id$/, '')
        .split(', ')
        .sort(),
    ).toEqual([id, newId].sort());
  });
});
