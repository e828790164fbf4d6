import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedRun } from './data/load-run.js';
import { readText } from './data/read-file.js';
import { readStageFolder, summarizeItem } from './data/stage-artifacts.js';
import type { TaskPageInput } from './render/task-page.js';
import { readLedgerView } from './data/read-ledger-view.js';

/** Inputs shown folded at the top of a task page, in stage order. */
const INPUT_FILES = ['letter.json', '01-ingestion.json', '02-preprocessed.json', '02-items.json'];
/** Extra artifacts (brief.md) are shown inline up to this size; larger ones are only linked. */
const INLINE_EXTRA_BYTES = 256 * 1024;
const TEXT_EXTENSION = /\.(md|txt|json|jsonl|csv|log|html|xml|ya?ml)$/i;

/** Everything a task's (or an item's) page shows; undefined when the run has no such task or item. */
export async function taskPageData(run: LoadedRun, task: string, item: string | undefined): Promise<TaskPageInput | undefined> {
  if (!run.graph.some((node) => node.name === task) && !run.status.tasks[task]) return undefined;
  const relDir = item ? `tasks/${task}/items/${item}` : `tasks/${task}`;
  const folder = await readStageFolder(run.dir, relDir);
  if (item && !folder.files.length) return undefined;
  const inputs: TaskPageInput['inputs'] = [];
  for (const file of INPUT_FILES) {
    if (!folder.files.includes(file)) continue;
    const text = await readText(join(run.dir, relDir, file));
    if (text !== undefined) inputs.push({ file, text });
  }
  const extras: TaskPageInput['extras'] = [];
  for (const file of folder.extras) {
    const path = join(run.dir, relDir, file);
    const size = (await stat(path).catch(() => undefined))?.size ?? Infinity;
    extras.push({ file, text: TEXT_EXTENSION.test(file) && size <= INLINE_EXTRA_BYTES ? await readText(path) : undefined });
  }
  const failedItems = new Set(run.status.tasks[task]?.items?.failedItems ?? []);
  const items = await Promise.all(
    folder.items.map(async (name) => summarizeItem(name, await readStageFolder(run.dir, `${relDir}/items/${name}`), failedItems.has(name))),
  );
  const ledger = await readLedgerView(run.dir, run.id, task, item === undefined ? undefined : Number(item) - 1);
  return { run, task, ...(item ? { item } : {}), folder, inputs, extras, items, ...(ledger ? { ledger } : {}) };
}
