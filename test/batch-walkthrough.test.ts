/**
 * The README's "Waiting for the Batch API", step for step, offline on the mock, on a copy of the
 * shipped example: write-brief parks on the mock's batch, `start --once` exits saying so, `status`
 * and `batches` show it, and a second manager (`start --once` again) finds the batch ended and
 * completes the run.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pop } from './support/cli.js';
import { copyExample, makeWorkspace, readRunRecords, REPO_ROOT, runDirs, waitFor } from './support/workspace.js';
import { ledgerOf } from './support/ledger.js';

/** The README section's text, its JSON snippet and its commands. */
async function readmeSection(): Promise<{ settings: Record<string, unknown>; commands: string[] }> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Waiting for the Batch API'), readme.indexOf('## Seeing runs'));
  const json = /```json\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const sh = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return {
    settings: JSON.parse(`{${json}}`) as Record<string, unknown>,
    commands: sh
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim())
      .filter(Boolean),
  };
}

describe("the README's Batch API walkthrough, on the offline mock", () => {
  it('write-brief parks, start --once exits saying what waits, status and batches show it, and a later start --once completes the run', async () => {
    const { settings, commands } = await readmeSection();
    expect(commands).toEqual([
      'node orchestrator/manager.js submit examples/seeds/four-day-week.json',
      'node orchestrator/manager.js start --once',
      'node orchestrator/manager.js status',
      'node orchestrator/manager.js batches',
      'sleep 10',
      'node orchestrator/manager.js start --once',
    ]);
    const ws = await makeWorkspace({});
    await copyExample(ws);
    // As the README says: "batch": true on write-brief, and its settings at the top level.
    const file = ws.path('pipeline.json');
    const pipeline = JSON.parse(await readFile(file, 'utf8'));
    const writeBrief = pipeline.tasks.find((task: { name?: string }) => task.name === 'write-brief');
    writeBrief.batch = true;
    await writeFile(file, JSON.stringify({ ...pipeline, ...settings }, null, 2));

    expect((await pop(ws, ['submit', 'examples/seeds/four-day-week.json'])).exitCode).toBe(0);
    const first = await pop(ws, ['start', '--once']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/1 call\(s\) wait for the Batch API, of run\(s\) \S*four-day-week/);

    const [id] = await runDirs(ws.current);
    const overview = await pop(ws, ['status']);
    expect(overview.stdout).toMatch(new RegExp(`${id}\\s+waiting\\s+write-brief\\s+3/4`));
    const one = await pop(ws, ['status', id!]);
    expect(one.stdout).toMatch(/write-brief waits for the Batch API: mock batch mockbatch_\S+: 0\/1 answered · submitted .* ago · waiting/);
    const batches = await pop(ws, ['batches']);
    expect(batches.stdout).toMatch(/mockbatch_\S+\s+mock\s+default\s+open\s+1\s/);

    // sleep 10: the mock's batch takes batchDelayMs (10 s).
    const delay = (settings.providers as { mock: { batchDelayMs: number } }).mock.batchDelayMs;
    expect(delay).toBe(10_000);
    const submittedAt = Date.now();
    await waitFor(() => Date.now() - submittedAt >= delay, { timeoutMs: delay + 5000, intervalMs: 250 });

    const second = await pop(ws, ['start', '--once']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/1 run\(s\) complete/);
    const [record] = await readRunRecords(ws);
    expect(record?.id).toBe(id);
    const lines = await ledgerOf(join(ws.complete, id!), 'write-brief');
    expect(lines.map((line) => [line.outcome, line.batch ?? false])).toEqual([['answered', true]]);
    expect(await readFile(join(ws.complete, id!, 'tasks', 'write-brief', 'brief.md'), 'utf8')).not.toBe('');
  }, 60_000);
});
