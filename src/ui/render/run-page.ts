import { describeWaiting } from '../../batch/describe-waiting.js';
import type { LoadedRun } from '../data/load-run.js';
import { runningTasks } from '../data/load-run.js';
import type { LooseFailure, LooseTaskStatus } from '../data/loose-formats.js';
import type { StageFolder } from '../data/stage-artifacts.js';
import { taskTimes } from '../data/task-events.js';
import { formatCost, formatCount, formatDuration, formatTime } from './format.js';
import { ganttSvg, type GanttRow } from './gantt-svg.js';
import { graphSvg } from './graph-svg.js';
import { compareHref, fileHref, html, runHref, taskHref, type SafeHtml } from './html.js';
import { stateBadge } from './layout.js';
import { modelsTable } from './ledger-views.js';
import { ByModelSchema, type ByModel } from '../../formats/usage.js';
import { addByModel } from '../../util/usage.js';

/** Items drawn in the timeline per task; the task page lists them all. */
const TIMELINE_ITEMS = 64;

export function errorBox(id: string, error: LooseFailure, task?: string): SafeHtml {
  return html`<div class="error-box" role="alert">
<p><strong>${task ? `${task} failed` : 'failed'}</strong> · <code>${error.reason}</code>${error.stage ? html` in stage <code>${error.stage}</code>` : ''}</p>
<pre class="error-message">${error.message}</pre>
${error.issues?.length ? html`<ul class="issues">${error.issues.map((issue) => html`<li>${issue}</li>`)}</ul>` : ''}
${error.artifact ? html`<p>Open first: <a class="artifact-link" href="${fileHref(id, error.artifact)}">${error.artifact}</a></p>` : ''}
${error.stack ? html`<details><summary>stack</summary><pre>${error.stack}</pre></details>` : ''}
${error.stderrTail ? html`<details><summary>stderr</summary><pre>${error.stderrTail}</pre></details>` : ''}
</div>`;
}

function actions(run: LoadedRun): SafeHtml {
  const canResume = run.where === 'current' && run.status.state === 'failed';
  const canRerun = run.status.state === 'failed' || run.status.state === 'complete';
  if (!canResume && !canRerun) return html``;
  return html`<div class="actions" id="actions">
${canResume ? html`<button type="button" data-action="resume" data-run="${run.id}">Resume</button>` : ''}
${canRerun ? html`<label>Rerun from <select id="rerun-from">${run.graph.map((node) => html`<option value="${node.name}">${node.name}</option>`)}</select></label> <button type="button" data-action="rerun" data-run="${run.id}">Rerun</button>` : ''}
<span class="action-result" id="action-result" role="status"></span>
</div>`;
}

function lastResponse(folder: StageFolder | undefined) {
  return folder?.calls.findLast((call) => call.response)?.response?.data;
}

function taskRow(run: LoadedRun, name: string, task: LooseTaskStatus | undefined, folder: StageFolder | undefined): SafeHtml {
  const state = task?.state ?? 'pending';
  const response = lastResponse(folder);
  const skipped = response?.skipped ?? [];
  return html`<tr data-task="${name}">
<td><a href="${taskHref(run.id, name)}">${name}</a>${task?.copied ? html` <span class="badge copied">copied</span>` : ''}${task?.escalations ? html` <span class="badge escalated" title="replies that failed validation were refined on a stronger model">escalated ×${task.escalations}</span>` : ''}</td>
<td>${stateBadge(state)}${task?.waiting ? html`<div class="note" data-waiting>${describeWaiting(task.waiting)}</div>` : ''}</td>
<td class="num">${task?.attempts ?? 0}</td>
<td class="num">${task?.refinements ?? 0}</td>
<td class="num">${task?.items ? html`${task.items.complete}/${task.items.total}${task.items.failed ? html` <span class="bad">${task.items.failed} failed</span>` : ''}` : '–'}</td>
<td class="num">${formatCount(task?.usage?.calls ?? 0)}${task?.usage?.cachedCalls ? html` <span class="note">(${task.usage.cachedCalls} cached)</span>` : ''}${task?.usage?.batchCalls ? html` <span class="note">(${task.usage.batchCalls} batch)</span>` : ''}</td>
<td class="num">${formatCount(task?.usage?.inputTokens ?? 0)} / ${formatCount(task?.usage?.outputTokens ?? 0)}</td>
<td class="num">${formatCost(task?.costUsd)}</td>
<td class="num">${formatDuration(task?.durationMs)}</td>
<td>${task?.model ?? response?.model ?? '–'}</td>
<td>${skipped.length ? skipped.map((skip) => html`<div title="${skip.message ?? ''}">${skip.model}: ${skip.reason}</div>`) : '–'}</td>
<td>${task?.error ? html`<code>${task.error.reason}</code>${task.error.artifact ? html` · <a href="${fileHref(run.id, task.error.artifact)}">${task.error.artifact}</a>` : ''}` : ''}</td>
</tr>`;
}

/** Timeline rows: each task, then its attempts with their stages, then its items. */
export function timelineRows(run: LoadedRun, folders: Map<string, StageFolder>): GanttRow[] {
  const rows: GanttRow[] = [];
  const now = Date.now();
  for (const node of run.graph) {
    const task = run.status.tasks[node.name];
    const times = taskTimes(folders.get(node.name)?.taskLog);
    const start = task?.startedAt ? Date.parse(task.startedAt) : times.attempts[0]?.span.start;
    const end = task?.endedAt ? Date.parse(task.endedAt) : task?.state === 'running' ? now : times.attempts.at(-1)?.span.end;
    const bars =
      start !== undefined && end !== undefined ? [{ label: node.name, kind: `task state-${task?.state ?? 'pending'}`, start, end: Math.max(start, end) }] : [];
    rows.push({ label: node.name, depth: 0, bars, href: taskHref(run.id, node.name) });
    for (const attempt of times.attempts) rows.push({ label: attempt.span.label, depth: 1, bars: attempt.stages.length ? attempt.stages : [attempt.span] });
    for (const item of times.items.slice(0, TIMELINE_ITEMS))
      rows.push({ label: item.span.label, depth: 2, bars: item.stages.length ? item.stages : [item.span] });
    if (times.items.length > TIMELINE_ITEMS) rows.push({ label: `… ${times.items.length - TIMELINE_ITEMS} more items`, depth: 2, bars: [] });
  }
  return rows;
}

/** The run's own calls by model, from its tasks' ledger figures (copied tasks were paid for elsewhere). */
function runModels(run: LoadedRun): SafeHtml {
  let byModel: ByModel | undefined;
  for (const task of Object.values(run.status.tasks)) {
    if (task?.copied) continue;
    const parsed = ByModelSchema.safeParse((task as { byModel?: unknown } | undefined)?.byModel);
    if (parsed.success) byModel = addByModel(byModel, parsed.data);
  }
  return byModel && Object.keys(byModel).length ? html`<h2>Calls by model</h2>${modelsTable(byModel)}` : html``;
}

const STAGE_KEY = ['ingestion', 'pre-processing', 'prompt', 'inference', 'parsing', 'validation', 'critique', 'finalization'];

export function runPage(run: LoadedRun, folders: Map<string, StageFolder>): SafeHtml {
  const { status } = run;
  const running = runningTasks(status);
  const noteOf = (name: string) => {
    const task = status.tasks[name];
    if (!task) return '';
    if (task.copied) return 'copied';
    if (task.items) return `${task.items.complete}/${task.items.total} items`;
    return task.refinements ? `${task.refinements} refinement(s)` : '';
  };
  return html`<h1>Run <span class="run-id">${run.id}</span> ${stateBadge(status.state)}</h1>
<dl class="facts">
<dt>Pipeline</dt><dd>${status.pipeline}</dd>
<dt>Seed</dt><dd><a href="${fileHref(run.id, 'seed.json')}">${status.source.file}</a></dd>
<dt>Folder</dt><dd>pipeline-${run.where}/${run.id}</dd>
<dt>Created</dt><dd>${formatTime(status.createdAt)}</dd>
<dt>Updated</dt><dd>${formatTime(status.updatedAt)}</dd>
${running.length ? html`<dt>Running</dt><dd id="running-tasks">${running.join(', ')}</dd>` : ''}
${status.rerunOf ? html`<dt>Rerun of</dt><dd><a href="${runHref(status.rerunOf.run)}">${status.rerunOf.run}</a> from <code>${status.rerunOf.from}</code> · <a href="${compareHref(status.rerunOf.run, run.id)}">compare with it</a></dd>` : ''}
<dt>Files</dt><dd><a href="${fileHref(run.id, 'pipeline.json')}">pipeline.json</a> · <a href="${fileHref(run.id, 'tasks-status.json')}">tasks-status.json</a> · <a href="${fileHref(run.id, 'run.log')}">run.log</a></dd>
</dl>
${actions(run)}
${status.error ? errorBox(run.id, status.error, status.error.task) : ''}
<h2>Tasks</h2>
${graphSvg(
  run.graph,
  (name) => status.tasks[name]?.state ?? 'pending',
  (name) => taskHref(run.id, name),
  noteOf,
)}
<table class="tasks" id="tasks">
<thead><tr><th>Task</th><th>State</th><th>Attempts</th><th>Refinements</th><th>Items</th><th>Calls</th><th>Tokens in / out</th><th>Cost</th><th>Duration</th><th>Model</th><th>Fallbacks skipped</th><th>Error</th></tr></thead>
<tbody>${run.graph.map((node) => taskRow(run, node.name, status.tasks[node.name], folders.get(node.name)))}</tbody>
</table>
${runModels(run)}
<h2>Timeline</h2>
${ganttSvg(timelineRows(run, folders))}
<p class="legend">${STAGE_KEY.map((stage) => html`<span class="key stage-${stage}"></span>${stage} `)}</p>`;
}
