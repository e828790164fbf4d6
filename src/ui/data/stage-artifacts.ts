import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import {
  LooseCritiqueSchema,
  LooseOutputSchema,
  LooseParsedSchema,
  LoosePromptSchema,
  LooseResponseSchema,
  LooseValidationSchema,
  type LoosePrompt,
  type LooseResponse,
} from './loose-formats.js';
import { readLoose, readText } from './read-file.js';

/** One model call of a task or item and what the stages after it made of the reply. */
export interface CallArtifacts {
  call: number;
  response?: { file: string; data: LooseResponse };
  parsed?: { file: string; data: z.output<typeof LooseParsedSchema> };
  validation?: { file: string; data: z.output<typeof LooseValidationSchema> };
  critique?: { file: string; data: z.output<typeof LooseCritiqueSchema> };
}

/** Everything the stages left in one task folder, or in one item folder of a fan-out. */
export interface StageFolder {
  /** Relative to the run folder: `tasks/<task>` or `tasks/<task>/items/<nnnn>`. */
  relDir: string;
  files: string[];
  prompt?: { file: string; data: LoosePrompt };
  calls: CallArtifacts[];
  output?: z.output<typeof LooseOutputSchema>;
  /** Files with no stage of their own (a task's extra artifacts such as brief.md). */
  extras: string[];
  /** Item folders of a fan-out, in order. */
  items: string[];
  taskLog?: string;
  consoleLog?: string;
}

const CALL_FILE = /^0([4-7])-(response|parsed|validation|critique)(?:\.(\d+))?\.json$/;
const STAGE_FILES = new Set([
  'letter.json',
  'calls.jsonl',
  '01-ingestion.json',
  '02-preprocessed.json',
  '02-items.json',
  '03-prompt.json',
  '03-prompt.md',
  'output.json',
  'task.log',
  'console.log',
]);

/** Folder entries, numbered artifacts in the order the stages wrote them. */
async function listFiles(dir: string): Promise<{ files: string[]; dirs: string[] }> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files = entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  const dirs = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  return { files: files.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })), dirs };
}

export async function readStageFolder(runDir: string, relDir: string): Promise<StageFolder> {
  const dir = join(runDir, relDir);
  const { files, dirs } = await listFiles(dir);
  const calls = new Map<number, CallArtifacts>();
  const extras: string[] = [];
  for (const file of files) {
    const match = CALL_FILE.exec(file);
    if (!match) {
      if (!STAGE_FILES.has(file) && !file.startsWith('.')) extras.push(file);
      continue;
    }
    const call = Number(match[3] ?? 1);
    const entry = calls.get(call) ?? { call };
    calls.set(call, entry);
    const path = join(dir, file);
    switch (match[2]) {
      case 'response': {
        const data = await readLoose(path, LooseResponseSchema);
        if (data) entry.response = { file, data };
        break;
      }
      case 'parsed': {
        const data = await readLoose(path, LooseParsedSchema);
        if (data) entry.parsed = { file, data };
        break;
      }
      case 'validation': {
        const data = await readLoose(path, LooseValidationSchema);
        if (data) entry.validation = { file, data };
        break;
      }
      case 'critique': {
        const data = await readLoose(path, LooseCritiqueSchema);
        if (data) entry.critique = { file, data };
        break;
      }
    }
  }
  const folder: StageFolder = {
    relDir,
    files,
    calls: [...calls.values()].sort((a, b) => a.call - b.call),
    extras,
    items: dirs.includes('items') ? (await listFiles(join(dir, 'items'))).dirs.filter((name) => /^\d+$/.test(name)).sort() : [],
  };
  const prompt = await readLoose(join(dir, '03-prompt.json'), LoosePromptSchema);
  if (prompt) folder.prompt = { file: '03-prompt.json', data: prompt };
  const output = await readLoose(join(dir, 'output.json'), LooseOutputSchema);
  if (output) folder.output = output;
  const taskLog = await readText(join(dir, 'task.log'));
  if (taskLog !== undefined) folder.taskLog = taskLog;
  const consoleLog = await readText(join(dir, 'console.log'));
  if (consoleLog !== undefined) folder.consoleLog = consoleLog;
  return folder;
}

/** A fan-out item at a glance, from its folder alone. */
export interface ItemSummary {
  name: string;
  state: 'complete' | 'failed' | 'running' | 'pending';
  calls: number;
  refinements: number;
  inputTokens: number;
  outputTokens: number;
  cached: number;
}

/** `failed`: the task's status lists the item among its failed ones. */
export function summarizeItem(name: string, folder: StageFolder, failed = false): ItemSummary {
  const last = folder.calls.at(-1);
  const state = folder.output
    ? 'complete'
    : failed || (last?.validation && !last.validation.data.ok && !last.critique)
      ? 'failed'
      : folder.calls.length || folder.prompt
        ? 'running'
        : 'pending';
  const responses = folder.calls.flatMap((call) => (call.response ? [call.response.data] : []));
  return {
    name,
    state,
    calls: responses.length,
    refinements: folder.calls.filter((call) => call.critique).length,
    inputTokens: responses.reduce((total, response) => total + (response.usage?.inputTokens ?? 0), 0),
    outputTokens: responses.reduce((total, response) => total + (response.usage?.outputTokens ?? 0), 0),
    cached: responses.filter((response) => response.cached === true).length,
  };
}
