import type { RunComparison, TaskComparison, TaskSide } from '../compare/compare-runs.js';
import type { ValueChange } from '../compare/value-diff.js';
import { diffView } from './artifact-views.js';
import { formatCost, formatCount, formatDelta, formatDuration } from './format.js';
import { html, runHref, taskHref, type SafeHtml } from './html.js';
import { stateBadge } from './layout.js';

const short = (value: unknown) => {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
};

function sideBySide(a: TaskSide | undefined, b: TaskSide | undefined, pick: (side: TaskSide) => number | undefined, show: (n: number) => string): SafeHtml {
  const before = a ? pick(a) : undefined;
  const after = b ? pick(b) : undefined;
  const text = (n: number | undefined) => (n === undefined ? '–' : show(n));
  const delta = formatDelta(before, after, show);
  return html`<td class="num">${text(before)}</td><td class="num">${text(after)}</td><td class="num delta${delta.startsWith('+') ? ' up' : delta.startsWith('−') ? ' down' : ''}">${delta}</td>`;
}

function summaryRow(comparison: RunComparison, task: TaskComparison): SafeHtml {
  const tokens = (side: TaskSide) => side.inputTokens + side.outputTokens;
  return html`<tr data-task="${task.name}" class="${task.output === 'changed' ? 'changed' : ''}">
<td><a href="#task-${task.name}">${task.name}</a>${task.copied ? html` <span class="badge copied">copied</span>` : ''}</td>
<td>${stateBadge(task.output)}</td>
<td>${stateBadge(task.prompt)}</td>
${sideBySide(task.a, task.b, tokens, formatCount)}
${sideBySide(task.a, task.b, (side) => side.costUsd, formatCost)}
${sideBySide(task.a, task.b, (side) => side.durationMs, formatDuration)}
${sideBySide(task.a, task.b, (side) => side.refinements, formatCount)}
<td><a href="${taskHref(comparison.a.id, task.name)}">a</a> · <a href="${taskHref(comparison.b.id, task.name)}">b</a></td>
</tr>`;
}

function changesTable(changes: ValueChange[]): SafeHtml {
  return html`<table class="value-diff"><thead><tr><th>Path</th><th>Change</th><th>a</th><th>b</th></tr></thead><tbody>${changes.map(
    (change) =>
      html`<tr class="change-${change.kind}"><td><code>${change.path}</code></td><td>${change.kind}</td><td><code>${'before' in change ? short(change.before) : ''}</code></td><td><code>${'after' in change ? short(change.after) : ''}</code></td></tr>`,
  )}</tbody></table>`;
}

function taskDetails(task: TaskComparison): SafeHtml {
  if (task.output !== 'changed' && task.prompt !== 'changed') return html``;
  return html`<section class="task-compare" id="task-${task.name}"><h3>${task.name}</h3>
${task.output === 'changed' ? html`<h4>Output: ${task.valueChanges.length} difference(s)</h4>${changesTable(task.valueChanges)}` : ''}
${task.prompt === 'changed' ? html`<h4>Prompt</h4>${diffView(task.promptDiff, ['a', 'b'])}` : ''}
<p class="meta">model time a ${formatDuration(task.a?.modelLatencyMs)} · b ${formatDuration(task.b?.modelLatencyMs)}; model a ${task.a?.model ?? '–'} · b ${task.b?.model ?? '–'}</p>
</section>`;
}

export function comparePage(comparison: RunComparison): SafeHtml {
  const { a, b } = comparison;
  return html`<h1>Compare</h1>
<table class="compare-runs"><tbody>
<tr><th>a</th><td><a href="${runHref(a.id)}">${a.id}</a> ${stateBadge(a.state)} ${a.pipeline}${a.rerunOf ? html` <span class="note">rerun of ${a.rerunOf.run} from ${a.rerunOf.from}</span>` : ''}</td></tr>
<tr><th>b</th><td><a href="${runHref(b.id)}">${b.id}</a> ${stateBadge(b.state)} ${b.pipeline}${b.rerunOf ? html` <span class="note">rerun of ${b.rerunOf.run} from ${b.rerunOf.from}</span>` : ''}</td></tr>
</tbody></table>
<p class="summary" id="compare-summary">${comparison.relation === 'rerun' ? 'One run is a rerun of the other. ' : ''}${comparison.tasks.filter((task) => task.output === 'changed').length} task output(s) changed, ${comparison.tasks.filter((task) => task.copied).length} copied.</p>
<table class="compare" id="compare">
<thead><tr><th rowspan="2">Task</th><th rowspan="2">Output</th><th rowspan="2">Prompt</th><th colspan="3">Tokens</th><th colspan="3">Cost</th><th colspan="3">Duration</th><th colspan="3">Refinements</th><th rowspan="2">Open</th></tr>
<tr>${[0, 1, 2, 3].map(() => html`<th>a</th><th>b</th><th>Δ</th>`)}</tr></thead>
<tbody>${comparison.tasks.map((task) => summaryRow(comparison, task))}</tbody>
</table>
${comparison.tasks.map(taskDetails)}`;
}

export function comparePicker(message: string): SafeHtml {
  return html`<h1>Compare</h1>
<p>${message}</p>
<form method="get" action="/compare" class="filters">
<label>Run a <input name="a" required size="44"></label>
<label>Run b <input name="b" required size="44"></label>
<button type="submit">Compare</button>
</form>
<p>Or pick two runs in the <a href="/">runs list</a>.</p>`;
}
