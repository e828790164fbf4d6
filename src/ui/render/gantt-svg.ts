import type { Span } from '../data/task-events.js';
import { formatDuration } from './format.js';
import { html, type SafeHtml } from './html.js';

/** One line of the timeline: a label and the bars on it (a task's bar, or an attempt's stages). */
export interface GanttRow {
  label: string;
  depth: number;
  bars: Span[];
  href?: string;
}

const LABEL_W = 200;
const BAR_W = 720;
const ROW_H = 20;

/** A Gantt chart as an inline SVG, on one time axis from the earliest start to the latest end. */
export function ganttSvg(rows: GanttRow[]): SafeHtml {
  const spans = rows.flatMap((row) => row.bars);
  if (!spans.length) return html`<p class="empty">No recorded times yet.</p>`;
  const start = Math.min(...spans.map((span) => span.start));
  const end = Math.max(start + 1, ...spans.map((span) => span.end));
  const scale = BAR_W / (end - start);
  const height = rows.length * ROW_H + 24;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((fraction) => {
    const tx = LABEL_W + fraction * BAR_W;
    return html`<line class="tick" x1="${tx}" y1="0" x2="${tx}" y2="${height - 18}"/><text class="tick-label" x="${tx}" y="${height - 4}" text-anchor="${fraction === 1 ? 'end' : fraction === 0 ? 'start' : 'middle'}">${formatDuration(fraction * (end - start))}</text>`;
  });
  const lines = rows.map((row, index) => {
    const y = index * ROW_H;
    const label = html`<text class="gantt-label depth-${row.depth}" x="${4 + row.depth * 12}" y="${y + 14}">${row.label}</text>`;
    const bars = row.bars.map((bar) => {
      const x = LABEL_W + (bar.start - start) * scale;
      const width = Math.max(2, (bar.end - bar.start) * scale);
      return html`<rect class="bar ${bar.kind}" x="${x.toFixed(1)}" y="${y + 3}" width="${width.toFixed(1)}" height="${ROW_H - 6}" rx="2"><title>${bar.label}: ${formatDuration(bar.end - bar.start)}</title></rect>`;
    });
    return row.href ? html`<a href="${row.href}">${label}</a>${bars}` : html`${label}${bars}`;
  });
  return html`<svg class="gantt" role="img" aria-label="timeline" width="${LABEL_W + BAR_W + 10}" height="${height}" viewBox="0 0 ${LABEL_W + BAR_W + 10} ${height}" xmlns="http://www.w3.org/2000/svg">${ticks}${lines}</svg>`;
}
