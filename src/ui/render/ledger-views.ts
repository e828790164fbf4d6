import type { ByModel } from '../../formats/usage.js';
import type { LedgerView } from '../data/read-ledger-view.js';
import { LISTED_CALLS } from '../data/read-ledger-view.js';
import { formatCost, formatCount, formatDuration, formatTime } from './format.js';
import { html, type SafeHtml } from './html.js';

/** A task's (or an item's) calls from its ledger: one row per call, what it cost and how it ended. */
export function ledgerTable(view: LedgerView): SafeHtml {
  if (view.problem) return html`<p class="empty">${view.problem}</p>`;
  if (!view.lines.length) return html`<p class="empty">No calls recorded.</p>`;
  const withItems = view.lines.some((line) => line.item !== undefined);
  return html`<table class="ledger" id="ledger"><thead><tr><th>At</th><th>Attempt</th>${withItems ? html`<th>Item</th>` : ''}<th>Call</th><th>Rung</th><th>Model</th><th>Outcome</th><th>Tokens in / out</th><th>Cached in</th><th>Cost</th><th>Latency</th><th>Finish</th></tr></thead>
<tbody>${view.lines.map(
    (line) =>
      html`<tr class="outcome-${line.outcome}"><td>${formatTime(line.at).slice(11)}</td><td class="num">${line.attempt}</td>${withItems ? html`<td class="num">${line.item === undefined ? '–' : line.item + 1}</td>` : ''}<td class="num">${line.call}</td><td class="num">${line.rung ?? 0}</td><td>${line.model}${line.model !== line.modelAsked ? html` <span class="note">(asked ${line.modelAsked})</span>` : ''}</td><td>${line.cached ? 'cached' : line.outcome}${line.reason ? html` <code title="${line.message ?? ''}">${line.reason}</code>` : ''}</td><td class="num">${formatCount(line.usage.inputTokens)} / ${formatCount(line.usage.outputTokens)}</td><td class="num">${formatCount(line.usage.cachedInputTokens ?? 0)}</td><td class="num">${line.cached ? '–' : formatCost(line.costUsd)}</td><td class="num">${formatDuration(line.latencyMs)}</td><td>${line.finishReason ?? '–'}</td></tr>`,
  )}</tbody></table>
${view.total > LISTED_CALLS ? html`<p class="note">The first ${LISTED_CALLS} of ${formatCount(view.total)} calls.</p>` : ''}
${view.skipped ? html`<p class="note">${view.skipped} torn line(s) skipped.</p>` : ''}`;
}

/** The run's calls, tokens and cost by the model that answered. */
export function modelsTable(byModel: ByModel): SafeHtml {
  const models = Object.entries(byModel).sort(([a], [b]) => a.localeCompare(b));
  if (!models.length) return html``;
  return html`<table class="models" id="models"><thead><tr><th>Model</th><th>Calls</th><th>Cached</th><th>Failed</th><th>Tokens in / out</th><th>Cost</th></tr></thead>
<tbody>${models.map(
    ([model, usage]) =>
      html`<tr><td>${model}</td><td class="num">${formatCount(usage.calls)}</td><td class="num">${formatCount(usage.cachedCalls ?? 0)}</td><td class="num">${formatCount((usage.failedCalls ?? 0) + (usage.abortedCalls ?? 0))}</td><td class="num">${formatCount(usage.inputTokens)} / ${formatCount(usage.outputTokens)}</td><td class="num">${formatCost(usage.costUsd)}</td></tr>`,
  )}</tbody></table>`;
}
