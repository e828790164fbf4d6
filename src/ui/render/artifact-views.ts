import { issueText, type LoosePrompt } from '../data/loose-formats.js';
import type { CallArtifacts, ItemSummary } from '../data/stage-artifacts.js';
import { parseLogLines } from '../data/task-events.js';
import { diffLines, readableText, type DiffLine } from '../compare/text-diff.js';
import { formatCount, formatDuration } from './format.js';
import { html, type SafeHtml } from './html.js';
import { stateBadge } from './layout.js';

/** Past this many characters a value shown inline is cut (the file link has it whole). */
const MAX_INLINE = 200_000;
const cut = (text: string) => (text.length > MAX_INLINE ? `${text.slice(0, MAX_INLINE)}\n… (cut; open the file for the rest)` : text);

export const jsonBlock = (value: unknown) => html`<pre class="json">${cut(JSON.stringify(value, null, 2) ?? 'undefined')}</pre>`;
export const textBlock = (text: string) => html`<pre class="text">${cut(text)}</pre>`;

export function promptView(prompt: LoosePrompt): SafeHtml {
  return html`<div class="messages">${prompt.messages.map(
    (message) =>
      html`<div class="message role-${message.role}"><div class="role">${message.role}</div>${typeof message.content === 'string' ? textBlock(message.content) : jsonBlock(message.content)}</div>`,
  )}</div>
${prompt.schema === null ? html`<p class="meta">A text reply: no output schema.</p>` : prompt.schema !== undefined ? html`<details class="schema"><summary>output schema (JSON Schema sent to the model)</summary>${jsonBlock(prompt.schema)}</details>` : ''}`;
}

export function diffView(lines: DiffLine[], labels: [string, string]): SafeHtml {
  return html`<div class="diff"><div class="diff-head"><span class="del">− ${labels[0]}</span> <span class="add">+ ${labels[1]}</span></div><pre>${lines.map(
    (line) => html`<span class="diff-${line.op}">${line.op === 'add' ? '+ ' : line.op === 'del' ? '− ' : '  '}${line.text}\n</span>`,
  )}</pre></div>`;
}

function responseView(call: CallArtifacts): SafeHtml {
  const response = call.response;
  if (!response) return html`<p class="empty">No response file for this call.</p>`;
  const data = response.data;
  return html`<p class="meta">${response.file} · model <code>${data.model ?? '?'}</code>${data.cached ? html` <span class="badge cached">cached</span>` : ''} · ${formatCount(data.usage?.inputTokens ?? 0)} in / ${formatCount(data.usage?.outputTokens ?? 0)} out · ${formatDuration(data.latencyMs)}</p>
${data.skipped.length ? html`<p class="meta">Fallbacks skipped: ${data.skipped.map((skip) => html`<code>${skip.model}</code> (${skip.reason}${skip.message ? `: ${skip.message}` : ''}) `)}</p>` : ''}
${textBlock(data.text)}`;
}

function callView(call: CallArtifacts, next: CallArtifacts | undefined): SafeHtml {
  const validation = call.validation?.data;
  const parsed = call.parsed?.data;
  const refinementDiff =
    call.critique && call.response && next?.response ? diffLines(readableText(call.response.data.text), readableText(next.response.data.text)) : undefined;
  return html`<section class="call" id="call-${call.call}">
<h3>Call ${call.call}${validation ? html` ${stateBadge(validation.ok ? 'passed' : 'rejected')}` : ''}</h3>
<h4>Response</h4>
${responseView(call)}
${parsed ? html`<h4>Parsed (${call.parsed!.file})</h4>${parsed.ok === false ? html`<p class="bad">${parsed.error ?? 'could not be parsed'}</p>` : jsonBlock('value' in parsed ? parsed.value : parsed)}` : ''}
${validation ? html`<h4>Validation (${call.validation!.file})</h4>${validation.issues.length ? html`<ul class="issues">${validation.issues.map((issue) => html`<li>${issueText(issue)}</li>`)}</ul>` : html`<p>No issues.</p>`}` : ''}
${call.critique ? html`<h4>Critique (${call.critique.file})</h4>${textBlock(call.critique.data.feedback)}` : ''}
${refinementDiff ? html`<h4>Refinement: this reply against the next</h4>${diffView(refinementDiff, [`call ${call.call}`, `call ${next!.call}`])}` : ''}
</section>`;
}

export const callsView = (calls: CallArtifacts[]) =>
  calls.length ? calls.map((call, index) => callView(call, calls[index + 1])) : html`<p class="empty">No model calls yet.</p>`;

export function itemsTable(hrefOf: (item: string) => string, items: ItemSummary[]): SafeHtml {
  return html`<table class="items" id="items"><thead><tr><th>Item</th><th>State</th><th>Calls</th><th>Refinements</th><th>Tokens in / out</th></tr></thead>
<tbody>${items.map(
    (item) =>
      html`<tr data-item="${item.name}"><td><a href="${hrefOf(item.name)}">${item.name}</a></td><td>${stateBadge(item.state)}</td><td class="num">${item.calls}${item.cached ? html` <span class="note">(${item.cached} cached)</span>` : ''}</td><td class="num">${item.refinements}</td><td class="num">${formatCount(item.inputTokens)} / ${formatCount(item.outputTokens)}</td></tr>`,
  )}</tbody></table>`;
}

/** task.log as a table of events; the fields besides time and event, as compact JSON. */
export function logTable(text: string): SafeHtml {
  const entries = parseLogLines(text);
  if (!entries.length) return html`<p class="empty">Empty.</p>`;
  return html`<table class="log"><thead><tr><th>Time</th><th>Level</th><th>Event</th><th>Details</th></tr></thead><tbody>${entries.map(
    (entry) =>
      html`<tr class="level-${entry.level}"><td>${entry.time.slice(11, 23)}</td><td>${entry.level}</td><td>${entry.event}</td><td><code>${JSON.stringify(entry.fields)}</code></td></tr>`,
  )}</tbody></table>`;
}
