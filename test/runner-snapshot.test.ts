/**
 * Task processes start from the runner's startup snapshot (built by `npm run build`), which holds
 * the task API: a task module's `pop` is that API, with every name POP's entry point exports, in a
 * workspace with `pop` in node_modules and in one without. Tasks with another heap limit, and
 * POP_RUNNER_SNAPSHOT=0, start from the plain bundle instead, with the same `pop`.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutputSchema } from '../src/formats/output.js';
import { REPO_ROOT, makeWorkspace, readValid, registryModule, runPopWithEnv, runDirs } from './support/workspace.js';

/** A task that answers with the names it got from `pop`, whether its schema works, and how its process started. */
const INTROSPECTING_TASK = `import * as pop from 'pop';
const { defineTask, z } = pop;
const Shape = z.object({ n: z.number().int() });
export default defineTask({
  prompt: () => 'anything',
  parse: () => ({
    names: Object.keys(pop).sort(),
    schemaWorks: Shape.safeParse({ n: 1 }).success && !Shape.safeParse({ n: 'x' }).success,
    fromSnapshot: process.execArgv.some((arg) => arg.endsWith('runner.blob')),
    heapFlag: process.execArgv.find((arg) => arg.startsWith('--max-old-space-size')) ?? null,
  }),
});
`;

async function entryPointNames(): Promise<string[]> {
  return Object.keys(await import(join(REPO_ROOT, 'dist', 'index.js'))).sort();
}

async function runIntrospection(options: { nodeModules: boolean; memoryMb?: number; env?: Record<string, string> }) {
  const ws = await makeWorkspace({
    'pipeline.json': { name: 'p', tasks: ['look'], ...(options.memoryMb ? { defaults: { memoryMb: options.memoryMb } } : {}) },
    'pipeline-tasks/index.js': registryModule(['look']),
    'pipeline-tasks/look.js': INTROSPECTING_TASK,
    'pipeline-pending/s.json': { n: 1 },
  });
  if (!options.nodeModules) await rm(join(ws.root, 'node_modules'), { recursive: true });
  const result = await runPopWithEnv(ws, ['start', '--once'], options.env ?? {});
  expect(result.exitCode, result.stderr).toBe(0);
  const [run] = await runDirs(ws.complete);
  const output = await readValid(OutputSchema, join(ws.complete, run!, 'tasks', 'look', 'output.json'));
  return output.value as { names: string[]; schemaWorks: boolean; fromSnapshot: boolean; heapFlag: string | null };
}

describe('the runner started from its snapshot', () => {
  it("gives a task module POP's whole entry point as `pop`, in a workspace with and without node_modules", async () => {
    const names = await entryPointNames();
    for (const nodeModules of [true, false]) {
      const seen = await runIntrospection({ nodeModules });
      expect(seen, `node_modules: ${nodeModules}`).toEqual({ names, schemaWorks: true, fromSnapshot: true, heapFlag: '--max-old-space-size=1024' });
    }
  });

  it('runs a task with another heap limit from the plain bundle, with the same `pop`', async () => {
    const seen = await runIntrospection({ nodeModules: false, memoryMb: 256 });
    expect(seen).toEqual({ names: await entryPointNames(), schemaWorks: true, fromSnapshot: false, heapFlag: '--max-old-space-size=256' });
  });

  it('runs every task from the plain bundle with POP_RUNNER_SNAPSHOT=0', async () => {
    const seen = await runIntrospection({ nodeModules: true, env: { POP_RUNNER_SNAPSHOT: '0' } });
    expect(seen.fromSnapshot).toBe(false);
    expect(seen.names).toEqual(await entryPointNames());
  });
});
