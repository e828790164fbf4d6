import { readText } from '../data/read-file.js';
import { join } from 'node:path';
import type { LoadedRun } from '../data/load-run.js';
import type { LoosePrompt, LooseTaskStatus } from '../data/loose-formats.js';
import { readStageFolder, type StageFolder } from '../data/stage-artifacts.js';
import { diffLines, hasChanges, type DiffLine } from './text-diff.js';
import { diffValues, type ValueChange } from './value-diff.js';

/** One task as run in one of the two runs. */
export interface TaskSide {
  state: string;
  copied: boolean;
  model: string | undefined;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | undefined;
  durationMs: number | undefined;
  /** The model's own time, summed over the task's calls (and its items'). */
  modelLatencyMs: number;
  refinements: number;
}

export interface TaskComparison {
  name: string;
  a: TaskSide | undefined;
  b: TaskSide | undefined;
  /** Whether the second run copied this task from the first (or the first from the second). */
  copied: boolean;
  output: 'same' | 'changed' | 'missing';
  valueChanges: ValueChange[];
  prompt: 'same' | 'changed' | 'missing';
  promptDiff: DiffLine[];
}

export interface RunSide {
  id: string;
  state: string;
  pipeline: string;
  rerunOf: { run: string; from: string } | undefined;
}

export interface RunComparison {
  a: RunSide;
  b: RunSide;
  /** `rerun` when one run is a rerun of the other. */
  relation: 'rerun' | 'separate';
  tasks: TaskComparison[];
}

/** The prompt as plain text, role by role: what a person compares. */
export function promptText(prompt: LoosePrompt): string {
  return prompt.messages
    .map((message) => `## ${message.role}\n${typeof message.content === 'string' ? message.content : JSON.stringify(message.content, null, 2)}`)
    .join('\n\n');
}

async function allPromptText(run: LoadedRun, folder: StageFolder): Promise<string | undefined> {
  if (folder.prompt) return promptText(folder.prompt.data);
  if (!folder.items.length) return undefined;
  const parts: string[] = [];
  for (const item of folder.items) {
    const itemFolder = await readStageFolder(run.dir, `${folder.relDir}/items/${item}`);
    if (itemFolder.prompt) parts.push(`# item ${item}\n${promptText(itemFolder.prompt.data)}`);
  }
  return parts.join('\n\n');
}

async function modelLatency(run: LoadedRun, folder: StageFolder): Promise<number> {
  let total = folder.calls.reduce((sum, call) => sum + (call.response?.data.latencyMs ?? 0), 0);
  for (const item of folder.items)
    total += (await readStageFolder(run.dir, `${folder.relDir}/items/${item}`)).calls.reduce((sum, call) => sum + (call.response?.data.latencyMs ?? 0), 0);
  return total;
}

function side(task: LooseTaskStatus, latency: number, copied: boolean): TaskSide {
  return {
    state: task.state,
    copied,
    model: task.model,
    calls: task.usage?.calls ?? 0,
    inputTokens: task.usage?.inputTokens ?? 0,
    outputTokens: task.usage?.outputTokens ?? 0,
    costUsd: task.costUsd,
    durationMs: task.durationMs,
    modelLatencyMs: latency,
    refinements: task.refinements,
  };
}

const outputBytes = (run: LoadedRun, task: string) => readText(join(run.dir, 'tasks', task, 'output.json'));

/**
 * Whether `copy` took task `name` from `origin` unchanged. The status says so where it marks copied
 * tasks; else a rerun's copied output is byte for byte the original's, `finishedAt` included,
 * which no task run again can reproduce.
 */
async function wasCopied(copy: LoadedRun, origin: LoadedRun, name: string): Promise<boolean> {
  const task = copy.status.tasks[name];
  if (task?.copied !== undefined) return task.copied;
  if (copy.status.rerunOf?.run !== origin.id) return false;
  const [copied, original] = await Promise.all([outputBytes(copy, name), outputBytes(origin, name)]);
  return copied !== undefined && copied === original;
}

const runSide = (run: LoadedRun): RunSide => ({
  id: run.id,
  state: run.status.state,
  pipeline: run.status.pipeline,
  rerunOf: run.status.rerunOf ? { run: run.status.rerunOf.run, from: run.status.rerunOf.from } : undefined,
});

export async function compareRuns(a: LoadedRun, b: LoadedRun): Promise<RunComparison> {
  const names = [...a.graph.map((node) => node.name)];
  for (const node of b.graph) if (!names.includes(node.name)) names.push(node.name);
  const tasks: TaskComparison[] = [];
  for (const name of names) {
    const [folderA, folderB] = await Promise.all([readStageFolder(a.dir, `tasks/${name}`), readStageFolder(b.dir, `tasks/${name}`)]);
    const copied = (await wasCopied(b, a, name)) || (await wasCopied(a, b, name));
    const statusA = a.status.tasks[name];
    const statusB = b.status.tasks[name];
    const sideA = statusA ? side(statusA, await modelLatency(a, folderA), statusA.copied === true || (copied && a.status.rerunOf?.run === b.id)) : undefined;
    const sideB = statusB ? side(statusB, await modelLatency(b, folderB), statusB.copied === true || (copied && b.status.rerunOf?.run === a.id)) : undefined;
    const valueChanges = folderA.output && folderB.output ? diffValues(folderA.output.value, folderB.output.value) : [];
    const [promptA, promptB] = await Promise.all([allPromptText(a, folderA), allPromptText(b, folderB)]);
    const promptDiff = promptA !== undefined && promptB !== undefined ? diffLines(promptA, promptB) : [];
    tasks.push({
      name,
      a: sideA,
      b: sideB,
      copied,
      output: !folderA.output || !folderB.output ? 'missing' : valueChanges.length ? 'changed' : 'same',
      valueChanges,
      prompt: promptA === undefined || promptB === undefined ? 'missing' : hasChanges(promptDiff) ? 'changed' : 'same',
      promptDiff,
    });
  }
  const relation = a.status.rerunOf?.run === b.id || b.status.rerunOf?.run === a.id ? 'rerun' : 'separate';
  return { a: runSide(a), b: runSide(b), relation, tasks };
}
