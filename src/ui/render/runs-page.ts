import type { RunList, RunFilter, RunRow, RunTotals } from '../data/runs-index.js';
import { formatCost, formatCount, formatDuration, formatTime } from './format.js';
import { html, runHref, type SafeHtml } from './html.js';
import { stateBadge } from './layout.js';

const STATES = ['running', 'queued', 'waiting', 'failed', 'complete'];

function filterForm(filter: RunFilter, pipelines: string[], limit: number): SafeHtml {
  const option = (value: string, selected: string | undefined, label = value) =>
    html`<option value="${value}"${selected === value ? html` selected` : ''}>${label}</option>`;
  return html`<form class="filters" method="get" action="/">
<label>State <select name="state">${option('', filter.state, 'any')}${STATES.map((state) => option(state, filter.state))}</select></label>
<label>Pipeline <select name="pipeline">${option('', filter.pipeline, 'any')}${pipelines.map((name) => option(name, filter.pipeline))}</select></label>
<label>Started from <input type="date" name="since" value="${filter.since ?? ''}"></label>
<label>to <input type="date" name="until" value="${filter.until ?? ''}"></label>
<label>Show <input type="number" name="limit" min="1" max="10000" value="${limit}"></label>
<button type="submit">Filter</button> <a href="/">clear</a>
</form>`;
}

function row(run: RunRow): SafeHtml {
  return html`<tr data-run="${run.id}">
<td><input type="radio" name="a" value="${run.id}" aria-label="compare from"> <input type="radio" name="b" value="${run.id}" aria-label="compare to"></td>
<td><a href="${runHref(run.id)}">${run.id}</a>${run.rerunOf ? html` <span class="note">rerun of ${run.rerunOf}</span>` : ''}</td>
<td>${stateBadge(run.state)}</td>
<td>${run.pipeline}</td>
<td>${run.seed}</td>
<td>${formatTime(run.startedAt)}</td>
<td class="num">${formatDuration(run.durationMs)}</td>
<td class="num">${run.tasksDone}/${run.tasksTotal}${run.copiedTasks ? html` <span class="badge copied" title="copied from the original run">${run.copiedTasks} copied</span>` : ''}</td>
<td class="num">${formatCount(run.calls)}</td>
<td class="num">${formatCount(run.inputTokens)} / ${formatCount(run.outputTokens)}</td>
<td class="num">${formatCost(run.costUsd)}</td>
<td class="num">${run.refinements}</td>
</tr>`;
}

function totalsRow(label: string, totals: RunTotals): SafeHtml {
  return html`<tr class="totals"><th colspan="8">${label}</th><td class="num">${formatCount(totals.calls)}</td><td class="num">${formatCount(totals.inputTokens)} / ${formatCount(totals.outputTokens)}</td><td class="num">${formatCost(totals.costed ? totals.costUsd : undefined)}</td><td class="num">${totals.refinements}</td></tr>`;
}

function shownTotals(rows: RunRow[]): RunTotals {
  return rows.reduce<RunTotals>(
    (totals, run) => ({
      runs: totals.runs + 1,
      costed: (totals.costed ?? 0) + (run.costUsd === undefined ? 0 : 1),
      calls: totals.calls + run.calls,
      inputTokens: totals.inputTokens + run.inputTokens,
      outputTokens: totals.outputTokens + run.outputTokens,
      costUsd: totals.costUsd + (run.costUsd ?? 0),
      refinements: totals.refinements + run.refinements,
    }),
    { runs: 0, calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, refinements: 0 },
  );
}

export function runsPage(list: RunList, filter: RunFilter, limit: number): SafeHtml {
  const shown = shownTotals(list.rows);
  return html`<h1>Runs</h1>
${filterForm(filter, list.pipelines, limit)}
<p class="summary" id="runs-summary">${list.totals.runs} run(s) match${list.totals.runs > list.rows.length ? html`; the newest ${list.rows.length} are shown` : ''}.</p>
<form method="get" action="/compare">
<table class="runs" id="runs">
<thead><tr><th title="pick two runs to compare">a b</th><th>Run</th><th>State</th><th>Pipeline</th><th>Seed</th><th>Started (UTC)</th><th>Duration</th><th>Tasks</th><th>Calls</th><th>Tokens in / out</th><th>Cost</th><th>Refinements</th></tr></thead>
<tbody>${list.rows.length ? list.rows.map(row) : html`<tr><td colspan="12" class="empty">No runs match.</td></tr>`}</tbody>
<tfoot>${totalsRow(`Total of the ${shown.runs} shown`, shown)}${list.totals.runs > list.rows.length ? totalsRow(`Total of all ${list.totals.runs} matching`, list.totals) : ''}</tfoot>
</table>
<p><button type="submit">Compare the runs picked as a and b</button></p>
</form>`;
}
