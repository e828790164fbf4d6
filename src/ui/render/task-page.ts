import { describeWaiting } from '../../batch/describe-waiting.js';
import type { LoadedRun } from '../data/load-run.js';
import type { LooseTaskStatus } from '../data/loose-formats.js';
import type { ItemSummary, StageFolder } from '../data/stage-artifacts.js';
import { callsView, itemsTable, jsonBlock, logTable, promptView, textBlock } from './artifact-views.js';
import { formatCost, formatCount, formatDuration } from './format.js';
import { fileHref, html, itemHref, runHref, taskHref, type SafeHtml } from './html.js';
import { stateBadge } from './layout.js';
import { isMarkdownFile, markdownView } from './markdown.js';
import { errorBox } from './run-page.js';
import { ledgerTable } from './ledger-views.js';
import type { LedgerView } from '../data/read-ledger-view.js';

export interface TaskPageInput {
  run: LoadedRun;
  task: string;
  /** Set on an item's page. */
  item?: string;
  folder: StageFolder;
  /** Small JSON inputs shown folded: letter, ingestion, pre-processing, the items list. */
  inputs: { file: string; text: string }[];
  extras: { file: string; text: string | undefined }[];
  items: ItemSummary[];
  /** Its calls from the task's ledger. */
  ledger?: LedgerView | undefined;
}

function filesList(run: LoadedRun, folder: StageFolder): SafeHtml {
  return html`<ul class="files">${folder.files.map((file) => html`<li><a href="${fileHref(run.id, `${folder.relDir}/${file}`)}">${file}</a></li>`)}</ul>`;
}

/** The task's figures that are known, as short phrases. */
function taskFacts(status: LooseTaskStatus): string[] {
  const facts = [
    `attempts ${status.attempts}`,
    `refinements ${status.refinements}`,
    `${formatCount(status.usage?.calls ?? 0)} call(s)${status.usage?.cachedCalls ? ` (+${status.usage.cachedCalls} cached)` : ''}`,
    `${formatCount(status.usage?.inputTokens ?? 0)} / ${formatCount(status.usage?.outputTokens ?? 0)} tokens`,
  ];
  if (status.costUsd !== undefined) facts.push(formatCost(status.costUsd));
  if (status.durationMs !== undefined) facts.push(formatDuration(status.durationMs));
  if (status.model) facts.push(status.model);
  if (status.escalations) facts.push(`escalated ×${status.escalations}`);
  if (status.state === 'waiting' && status.waiting) facts.push(`waiting for the Batch API: ${describeWaiting(status.waiting)}`);
  return facts;
}

export function taskPage(input: TaskPageInput): SafeHtml {
  const { run, task, item, folder } = input;
  const status = run.status.tasks[task];
  const title = item ? `item ${item}` : task;
  return html`<p class="crumbs"><a href="${runHref(run.id)}">${run.id}</a> › ${item ? html`<a href="${taskHref(run.id, task)}">${task}</a> › item ${item}` : task}</p>
<h1>${title} ${item ? '' : stateBadge(status?.state ?? 'pending')}${!item && status?.copied ? html` <span class="badge copied">copied</span>` : ''}</h1>
${!item && status ? html`<p class="meta">${taskFacts(status).join(' · ')}</p>` : ''}
${!item && status?.error ? errorBox(run.id, status.error, task) : ''}
<details class="files-box"><summary>Files in ${folder.relDir}/</summary>${filesList(run, folder)}</details>
${input.inputs.map((entry) => html`<details class="input"><summary>${entry.file}</summary>${textBlock(entry.text)}</details>`)}
${input.items.length ? html`<h2>Items</h2>${itemsTable((name) => itemHref(run.id, task, name), input.items)}` : ''}
${folder.prompt ? html`<h2>Prompt</h2>${promptView(folder.prompt.data)}` : ''}
${folder.calls.length || folder.prompt ? html`<h2>Calls</h2>${callsView(folder.calls)}` : ''}
${input.ledger ? html`<h2>Ledger <span class="note">(calls.jsonl: every attempt's calls)</span></h2>${ledgerTable(input.ledger)}` : ''}
${folder.output ? html`<h2>Output</h2>${jsonBlock(folder.output.value)}` : ''}
${input.extras.map((extra) => html`<h2><a href="${fileHref(run.id, `${folder.relDir}/${extra.file}`)}">${extra.file}</a></h2>${extra.text === undefined ? '' : isMarkdownFile(extra.file) ? markdownView(extra.text) : textBlock(extra.text)}`)}
${folder.taskLog !== undefined ? html`<h2>task.log</h2>${logTable(folder.taskLog)}` : ''}
${folder.consoleLog !== undefined ? html`<h2>console.log</h2>${folder.consoleLog ? textBlock(folder.consoleLog) : html`<p class="empty">Empty.</p>`}` : ''}`;
}
