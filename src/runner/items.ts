import { setMaxListeners } from 'node:events';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import type { FailedItem, ItemCounts, ItemOutput, ItemProgress, ItemsFile } from '../formats/items.js';
import type { Letter } from '../formats/letter.js';
import type { TaskFailure } from '../formats/task-failure.js';
import { ArtifactWriter, type OnRedacted } from './artifacts.js';
import { ModelCaller, UsageMeter, type CallDefaults } from './model-caller.js';
import { runPromptLoop } from './prompt-loop.js';
import { CallParkedError } from './inference.js';
import { failureOf, stageRunner } from './stage.js';
import { toMessages } from './messages.js';
import type { Message, TaskContext, TaskDefinition } from './task-api.js';
import type { TaskLogger } from './task-log.js';

/** Items up to this size (as JSON) are copied into 02-items.json; larger ones only by size and sha256. */
const INLINE_ITEM_BYTES = 32 * 1024;
const READ_BATCH = 64;

export interface ItemsSetup {
  letter: Letter;
  taskDir: string;
  task: TaskDefinition;
  /** The task's context; each item gets a copy with its own `item`, log and callModel. */
  ctx: TaskContext;
  defaults: CallDefaults;
  /** The task's meter: every item's calls add into it. */
  meter: UsageMeter;
  log: TaskLogger;
  schema: z.ZodType | undefined;
  outputJsonSchema: Record<string, unknown> | undefined;
  /** Where 02-items.json goes. */
  artifacts: ArtifactWriter;
  onRedacted: OnRedacted;
  onItems: (progress: ItemProgress) => void;
}

export type ItemsOutcome =
  | { ok: true; values: unknown[]; failedItems: FailedItem[]; counts: ItemCounts; model: string | null; refinements: number; escalations: number }
  | { ok: false; error: TaskFailure; refinements: number };

interface Item {
  index: number;
  folder: string;
  value: unknown;
  json: string;
  sha256: string;
}

export const itemFolder = (index: number) => String(index + 1).padStart(4, '0');

/**
 * Stages 3–7 once per item, at most `concurrency` in flight, started in item order. An item's
 * output.json is written the moment it validates; one left by an earlier attempt for the same
 * item content is reused with no model call. A failed item stops new items from starting (unless
 * `itemFailures` is "skip"); those in flight finish first.
 */
export async function runItems(setup: ItemsSetup, list: readonly unknown[]): Promise<ItemsOutcome> {
  const { letter } = setup;
  const items = await hashItems(list);
  await setup.artifacts.write(setup.artifacts.freeName('02-items', 'json'), itemsFile(items));

  const outputs: Array<ItemOutput | undefined> = [];
  // In batches: a list of thousands must not open thousands of files at once.
  for (let start = 0; start < items.length; start += READ_BATCH) {
    outputs.push(...(await Promise.all(items.slice(start, start + READ_BATCH).map((item) => reusableOutput(setup, item, items.length)))));
  }
  const reusedCount = outputs.filter(Boolean).length;
  let complete = reusedCount;
  if (reusedCount > 0) setup.log.info({ event: 'items-reused', items: reusedCount, of: items.length }, 'items reused from an earlier attempt');

  const failures: FailedItem[] = [];
  // Refinements of items that never validated count too: they were asked for, and paid.
  let failedRefinements = 0;
  const failuresInFull = new Map<number, TaskFailure>();
  let stopping = false;
  let parked: CallParkedError | undefined;
  const counts = (): ItemCounts => ({
    total: items.length,
    complete,
    failed: failures.length,
    reused: reusedCount,
    ...(failures.length ? { failedItems: failures.map((f) => f.item).sort() } : {}),
  });
  // Each report carries the failures since the one before, not the whole list so far.
  let reportedFailures = 0;
  const progress = (): ItemProgress => {
    const newlyFailed = failures.slice(reportedFailures).map((f) => f.item);
    reportedFailures = failures.length;
    return { total: items.length, complete, failed: failures.length, reused: reusedCount, ...(newlyFailed.length ? { newlyFailed } : {}) };
  };
  setup.onItems(progress());

  const todo = items.filter((item) => !outputs[item.index]);
  // Each call in flight listens on the task's signal; more than Node's default 10 is expected here.
  setMaxListeners(Math.max(10, 4 * (letter.concurrency ?? 4)), setup.ctx.signal);
  let next = 0;
  const worker = async () => {
    while (!stopping && !setup.ctx.signal.aborted && next < todo.length) {
      const item = todo[next++]!;
      // A throw here is not the item's (its stages' failures are values): a disk that is full, say.
      const result = await runOneItem(setup, item, items.length).catch((error: unknown) => {
        if (error instanceof CallParkedError) return { parked: error };
        return { ok: false as const, error: failureOf(error, undefined), ours: true };
      });
      if ('parked' in result) {
        // Waits for the Batch API: the other items go on, and the attempt ends parked after them.
        parked = result.parked;
        continue;
      }
      if (result.ok) {
        outputs[item.index] = result.output;
        complete++;
      } else {
        failedRefinements += 'refinements' in result ? result.refinements : 0;
        failures.push(failedItem(item, result.error));
        failuresInFull.set(item.index, result.error);
        // A provider that is down is not the item's fault: skipping would skip every item.
        if (letter.itemFailures !== 'skip' || result.error.reason === 'provider-failed' || result.error.reason === 'budget-exceeded' || 'ours' in result)
          stopping = true;
      }
      setup.onItems(progress());
    }
  };
  await Promise.all(Array.from({ length: Math.min(letter.concurrency ?? 4, todo.length) }, worker));
  if (parked && !stopping && !setup.ctx.signal.aborted) throw parked;

  const refinements = outputs.reduce((sum, output) => sum + (output?.refinements ?? 0), failedRefinements);
  const escalations = outputs.reduce((sum, output) => sum + (output?.escalations ?? 0), 0);
  failures.sort((a, b) => a.index - b.index);
  if (stopping || setup.ctx.signal.aborted) {
    const first = failures[0];
    if (!first) return { ok: false, refinements, error: { reason: 'task-threw', stage: 'items', message: 'the task was stopped before all its items ran' } };
    return { ok: false, refinements, error: itemsFailure(first, failuresInFull.get(first.index)!, failures.slice(1), items.length) };
  }
  const done = outputs.filter((output): output is ItemOutput => output !== undefined);
  const models = [...new Set(done.map((output) => output.model).filter((model): model is string => model !== null))];
  return {
    ok: true,
    values: done.map((output) => output.value),
    failedItems: failures,
    counts: counts(),
    model: models.length ? models.join(', ') : null,
    refinements,
    escalations,
  };
}

async function runOneItem(
  setup: ItemsSetup,
  item: Item,
  count: number,
): Promise<{ ok: true; output: ItemOutput } | { ok: false; error: TaskFailure; refinements: number }> {
  const dir = join(setup.taskDir, 'items', item.folder);
  await mkdir(dir, { recursive: true });
  const artifacts = await ArtifactWriter.open(dir, setup.onRedacted);
  const meter = new UsageMeter(setup.meter);
  const log = setup.log.child({ item: item.folder });
  // The mock's first bad answers (`mock.failFirst`) go to the first item only: one item refined on
  // its own shows the loop without every item paying for it. A share failing on one model applies to all.
  const mock = item.index === 0 || !setup.defaults.mock ? setup.defaults.mock : { ...setup.defaults.mock, failFirst: 0 };
  const defaults = { ...setup.defaults, item: item.index, mock };
  const caller = new ModelCaller(defaults, artifacts, meter, log);
  const ctx: TaskContext = { ...itemContext(setup, item, count, log), callModel: (messages, options) => caller.call(messages, options, true) };
  const { letter } = setup;
  const result = await runPromptLoop(
    {
      task: setup.task,
      ctx,
      caller,
      artifacts,
      folder: `tasks/${letter.task}/items/${item.folder}`,
      schema: setup.schema,
      outputJsonSchema: setup.outputJsonSchema,
      maxRefinements: letter.maxRefinements,
      escalate: { rungs: letter.escalate ?? [], after: letter.escalateAfter ?? 1 },
      header: `task ${letter.task} · item ${item.index + 1} of ${count} · run ${letter.runId} · attempt ${letter.attempt} · models ${letter.model.join(', ')}`,
      stage: stageRunner(log, artifacts),
    },
    item.value,
  );
  if (!result.ok) {
    log.warn({ event: 'item-failed', reason: result.error.reason, message: result.error.message }, 'item failed');
    return result;
  }
  const output: ItemOutput = {
    index: item.index,
    item: item.folder,
    sha256: item.sha256,
    value: result.value ?? null,
    model: result.model,
    usage: meter.usage,
    refinements: result.refinements,
    ...(result.escalations ? { escalations: result.escalations } : {}),
    ...(meter.costUsd === undefined ? {} : { costUsd: meter.costUsd }),
    attempt: letter.attempt,
    callSha256: await callHashOf(setup, result.prompt),
    finishedAt: new Date().toISOString(),
  };
  await artifacts.writeItemOutput(output);
  caller.keepTheRest();
  log.info({ event: 'item-complete', refinements: result.refinements, usage: meter.usage }, 'item complete');
  return { ok: true, output };
}

/**
 * node:crypto is loaded only by fan-out tasks: the task process starts faster without it. Taken
 * with getBuiltinModule, not import(): the runner restored from its snapshot has no import().
 */
async function hashItems(list: readonly unknown[]): Promise<Item[]> {
  const { createHash } = process.getBuiltinModule('node:crypto');
  return list.map((value, index) => {
    const json = JSON.stringify(value) ?? 'null';
    return { index, folder: itemFolder(index), value, json, sha256: createHash('sha256').update(json).digest('hex') };
  });
}

function itemsFile(items: Item[]): ItemsFile {
  return {
    count: items.length,
    items: items.map((item) => {
      const bytes = Buffer.byteLength(item.json);
      return { index: item.index, item: item.folder, bytes, sha256: item.sha256, ...(bytes <= INLINE_ITEM_BYTES ? { value: item.value } : {}) };
    }),
  };
}

/** An item's context for its stages: the task's, with its own position and log. */
function itemContext(setup: ItemsSetup, item: Item, count: number, log: TaskLogger): TaskContext {
  return { ...setup.ctx, log, refinement: 0, item: { index: item.index, count } };
}

/** What identifies the call an item's output came from: the models, the prompt and the schema. */
async function callHashOf(setup: ItemsSetup, prompt: Message[]): Promise<string> {
  const { createHash } = process.getBuiltinModule('node:crypto');
  const identity = { models: setup.letter.model, escalate: setup.letter.escalate ?? [], messages: prompt, schema: setup.outputJsonSchema ?? null };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

/**
 * An earlier attempt's output for this item, when it would be asked the very same call now: same
 * item content, same models, same rendered prompt, same schema. Anything changed (a model, the
 * prompt template) and the item is asked again; a changed quality check alone keeps it.
 */
async function reusableOutput(setup: ItemsSetup, item: Item, count: number): Promise<ItemOutput | undefined> {
  const earlier = await earlierOutput(setup.taskDir, item);
  if (!earlier?.callSha256) return undefined;
  let prompt: Message[];
  try {
    // Rendered again without writing anything: the item's own stages render it for real if it runs.
    prompt = toMessages(await setup.task.prompt(item.value as never, itemContext(setup, item, count, setup.log.child({ item: item.folder })) as never));
  } catch {
    return undefined;
  }
  return (await callHashOf(setup, prompt)) === earlier.callSha256 ? earlier : undefined;
}

/** The output an earlier attempt left for this very item content, if any. */
async function earlierOutput(taskDir: string, item: Item): Promise<ItemOutput | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(join(taskDir, 'items', item.folder, 'output.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const output = parsed as Partial<ItemOutput> | null;
  // Written atomically by this module, so a light check is enough (no zod in the task process).
  if (!output || output.sha256 !== item.sha256 || !('value' in output) || typeof output.usage?.calls !== 'number' || typeof output.refinements !== 'number')
    return undefined;
  return output as ItemOutput;
}

function failedItem(item: Item, error: TaskFailure): FailedItem {
  return {
    index: item.index,
    item: item.folder,
    reason: error.reason,
    message: error.message,
    ...(error.issues ? { issues: error.issues } : {}),
    ...(error.artifact ? { artifact: error.artifact } : {}),
  };
}

/** The task's failure: the first failed item by name, its issues and artifact, and how many more failed. */
function itemsFailure(first: FailedItem, error: TaskFailure, others: FailedItem[], count: number): TaskFailure {
  const more = others.length ? ` (${others.length} more item${others.length === 1 ? '' : 's'} failed: ${others.map((f) => f.item).join(', ')})` : '';
  return { ...error, message: `item ${first.index + 1} of ${count} (items/${first.item}): ${error.message}${more}` };
}
