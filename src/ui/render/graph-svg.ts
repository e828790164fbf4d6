import type { GraphNode } from '../data/task-graph.js';
import { html, type SafeHtml } from './html.js';

const NODE_W = 160;
const NODE_H = 40;
const GAP_X = 56;
const GAP_Y = 18;
const PAD = 10;

const shorten = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** The task graph as an inline SVG: one box per task coloured by its state, arrows from what it needs. */
export function graphSvg(
  nodes: GraphNode[],
  stateOf: (task: string) => string,
  hrefOf: (task: string) => string,
  noteOf: (task: string) => string = () => '',
): SafeHtml {
  const x = (node: GraphNode) => PAD + node.column * (NODE_W + GAP_X);
  const y = (node: GraphNode) => PAD + node.row * (NODE_H + GAP_Y);
  const width = PAD * 2 + (Math.max(0, ...nodes.map((node) => node.column)) + 1) * (NODE_W + GAP_X) - GAP_X;
  const height = PAD * 2 + (Math.max(0, ...nodes.map((node) => node.row)) + 1) * (NODE_H + GAP_Y) - GAP_Y;
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const edges = nodes.flatMap((node) =>
    node.needs.flatMap((need) => {
      const from = byName.get(need);
      if (!from) return [];
      const x1 = x(from) + NODE_W;
      const y1 = y(from) + NODE_H / 2;
      const x2 = x(node) - 4;
      const y2 = y(node) + NODE_H / 2;
      const bend = Math.max(20, (x2 - x1) / 2);
      return [html`<path class="edge" d="M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}" marker-end="url(#arrow)"/>`];
    }),
  );
  const boxes = nodes.map((node) => {
    const state = stateOf(node.name);
    const note = noteOf(node.name);
    return html`<a href="${hrefOf(node.name)}" class="node" data-task="${node.name}"><title>${node.name}: ${state}${note ? ` (${note})` : ''}</title>
<rect class="node-box state-${state}" x="${x(node)}" y="${y(node)}" width="${NODE_W}" height="${NODE_H}" rx="6"/>
<text class="node-name" x="${x(node) + 10}" y="${y(node) + 17}">${shorten(node.name, 20)}</text>
<text class="node-note" x="${x(node) + 10}" y="${y(node) + 32}">${shorten(note ? `${state} · ${note}` : state, 26)}</text></a>`;
  });
  return html`<svg class="graph" role="img" aria-label="task graph" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path class="arrow-head" d="M0,0 L10,5 L0,10 z"/></marker></defs>
${edges}${boxes}</svg>`;
}
