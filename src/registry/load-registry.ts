import { access, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { err, ok, type Result } from '../result.js';
import type { TaskDefinition } from '../runner/task-api.js';
import { misspeltStages, STAGE_FUNCTIONS } from './stage-names.js';
import { providePop } from './provide-pop.js';
import { commonJsHint } from './commonjs-hint.js';
import { locateSyntaxError } from './locate-syntax-error.js';
import { importModule } from './import-module.js';

export interface Registry {
  file: string;
  tasks: Map<string, TaskDefinition>;
  seedSchema: z.ZodType | undefined;
}

export interface RegistryError {
  reason: 'registry-missing' | 'registry-failed-to-load' | 'registry-invalid';
  file: string;
  message: string;
  problems: string[];
}

const isZodSchema = (value: unknown): value is z.ZodType =>
  typeof value === 'object' && value !== null && typeof (value as { safeParse?: unknown }).safeParse === 'function';

/** What is wrong with one registry entry, or nothing. Accepts a defineTask object or a module namespace. */
export function taskProblems(name: string, entry: unknown): { task?: TaskDefinition; problems: string[] } {
  const candidate = entry && typeof entry === 'object' && 'default' in entry && !('prompt' in entry) ? (entry as { default: unknown }).default : entry;
  if (!candidate || typeof candidate !== 'object') {
    return {
      problems: [
        `task "${name}" is ${candidate === undefined ? 'undefined (does its module export a default defineTask({...})?)' : `a ${typeof candidate}, not a task`}`,
      ],
    };
  }
  const problems: string[] = [];
  const record = candidate as Record<string, unknown>;
  const misspelt = misspeltStages(record);
  for (const { key, stage } of misspelt) problems.push(`task "${name}" has a function "${key}", which is not a stage: did you mean "${stage}"?`);
  if (typeof record.prompt !== 'function' && !misspelt.some(({ stage }) => stage === 'prompt')) problems.push(`task "${name}" has no prompt function`);
  for (const stage of STAGE_FUNCTIONS) {
    if (record[stage] !== undefined && typeof record[stage] !== 'function') problems.push(`task "${name}": ${stage} must be a function`);
  }
  if (record.output !== undefined && !isZodSchema(record.output)) problems.push(`task "${name}": output must be a zod schema`);
  return problems.length ? { problems } : { task: candidate as TaskDefinition, problems };
}

/**
 * Import pipeline-tasks/index.js (`export default { taskName: task, ... }`, optional
 * `export const seedSchema`). `fresh` re-imports index.js itself (a new URL); the modules it imports
 * stay in Node's module cache. A task's code is not run from here: each attempt's own runner process
 * reads the task files as they are then.
 */
export async function loadRegistry(file: string, options: { fresh?: boolean } = {}): Promise<Result<Registry, RegistryError>> {
  try {
    await access(file);
  } catch {
    return err({ reason: 'registry-missing', file, message: `${file}: the task registry is missing`, problems: [] });
  }
  await providePop(file);
  let namespace: Record<string, unknown>;
  try {
    const url = pathToFileURL(file);
    if (options.fresh) url.search = `?t=${Date.now()}`;
    namespace = (await importModule(url.href)) as Record<string, unknown>;
  } catch (error) {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    // Node's SyntaxError for an imported module does not say which file: try each on its own.
    const hint = await commonJsHint(file, error);
    if (hint) return err({ reason: 'registry-failed-to-load', file, message: `${file}: failed to load: ${hint}`, problems: [] });
    const { problems: culprits, located } = await checkModules(file);
    // A syntax error is reported once, where it is; the registry's own failure would only repeat it.
    const syntax = error instanceof SyntaxError ? await locateSyntaxError(file) : undefined;
    if (syntax !== undefined || located) {
      const problems = syntax === undefined ? culprits : [syntax, ...culprits];
      return err({ reason: 'registry-invalid', file, message: problems.join('; '), problems });
    }
    return err({ reason: 'registry-failed-to-load', file, message: `${file}: failed to load: ${firstLines(detail, 6)}`, problems: culprits });
  }
  const exported = namespace.default;
  if (!exported || typeof exported !== 'object') {
    return err({ reason: 'registry-invalid', file, message: `${file}: must \`export default { taskName: task, ... }\``, problems: [] });
  }
  const tasks = new Map<string, TaskDefinition>();
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(exported)) {
    const checked = taskProblems(name, entry);
    if (checked.task) tasks.set(name, checked.task);
    if (checked.problems.length === 0) continue;
    // Say which file to fix: the module the entry came from, when it is one of pipeline-tasks/.
    const where = (await definingModule(file, entry)) ?? file;
    problems.push(...checked.problems.map((problem) => `${where}: ${problem}`));
  }
  const seedSchema = namespace.seedSchema;
  if (seedSchema !== undefined && !isZodSchema(seedSchema)) problems.push(`${file}: seedSchema must be a zod schema`);
  if (problems.length) {
    return err({ reason: 'registry-invalid', file, message: problems.join('; '), problems });
  }
  return ok({ file, tasks, seedSchema: seedSchema as z.ZodType | undefined });
}

/** When the registry cannot load, import each task module on its own to say which one is broken. */
export async function moduleProblems(registryFile: string): Promise<string[]> {
  return (await checkModules(registryFile)).problems;
}

/** The problems of each task module; `located` when one is a syntax error found at its line. */
async function checkModules(registryFile: string): Promise<{ problems: string[]; located: boolean }> {
  await providePop(registryFile);
  const dir = dirname(registryFile);
  const problems: string[] = [];
  let located = false;
  for (const name of (await readdir(dir)).filter((file) => file.endsWith('.js') && file !== basename(registryFile))) {
    const file = join(dir, name);
    try {
      const module = (await importModule(pathToFileURL(file).href)) as Record<string, unknown>;
      if (module.default === undefined) problems.push(`${file}: exports no default task (export default defineTask({...}))`);
      else problems.push(...taskProblems(name.replace(/\.js$/, ''), module.default).problems.map((problem) => `${file}: ${problem}`));
    } catch (error) {
      const syntax = error instanceof SyntaxError ? await locateSyntaxError(file) : undefined;
      if (syntax !== undefined) located = true;
      problems.push(syntax ?? `${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { problems, located };
}

function firstLines(text: string, count: number): string {
  return text.split('\n').slice(0, count).join('\n');
}

/** The task module in the registry's folder whose default export is `entry`, if any. */
async function definingModule(registryFile: string, entry: unknown): Promise<string | undefined> {
  const dir = dirname(registryFile);
  for (const name of (await readdir(dir).catch(() => [] as string[])).filter((file) => /\.m?js$/.test(file) && file !== basename(registryFile))) {
    const file = join(dir, name);
    try {
      const module = (await importModule(pathToFileURL(file).href)) as Record<string, unknown>;
      if (module.default === entry || module === entry) return file;
    } catch {
      // a module that does not load is reported by moduleProblems
    }
  }
  return undefined;
}
