import { CHARS_PER_TOKEN, estimateTokens } from '../util/estimate-tokens.js';

export { estimateTokens };

/** What truncateToTokens cut or chunkByTokens split, as the runner records it in task.log. */
export type TextNote =
  | { event: 'text-truncated'; tokens: number; keptTokens: number; chars: number; keptChars: number }
  | { event: 'text-chunked'; tokens: number; maxTokens: number; chunks: number };

// Kept on globalThis, not in this module: a task module may load its own copy of the package, and
// its cuts must still reach the runner.
const LISTENER = Symbol.for('pop.text-notes');
type Holder = { [LISTENER]?: ((note: TextNote) => void) | undefined };

/** The runner's ear for cuts and splits (one task per process, so one listener). */
export function listenToTextNotes(listener: ((note: TextNote) => void) | undefined): void {
  (globalThis as Holder)[LISTENER] = listener;
}

function note(textNote: TextNote): void {
  (globalThis as Holder)[LISTENER]?.(textNote);
}

/** Cut text to about `maxTokens`, at a word boundary, marking the cut. The cut is recorded in task.log. */
export function truncateToTokens(text: string, maxTokens: number, marker = ' […]'): string {
  const maxChars = maxTokens * CHARS_PER_TOKEN;
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, Math.max(0, maxChars - marker.length));
  const lastSpace = cut.lastIndexOf(' ');
  const kept = lastSpace > maxChars / 2 ? cut.slice(0, lastSpace) : cut;
  note({ event: 'text-truncated', tokens: estimateTokens(text), keptTokens: estimateTokens(kept), chars: text.length, keptChars: kept.length });
  return `${kept}${marker}`;
}

/**
 * Split text into chunks of about `maxTokens`, preferring paragraph, then sentence, then word
 * breaks. Nothing is dropped; the split is recorded in task.log.
 */
export function chunkByTokens(text: string, maxTokens: number): string[] {
  const maxChars = Math.max(1, maxTokens * CHARS_PER_TOKEN);
  const chunks: string[] = [];
  let rest = text.trim();
  while (rest.length > maxChars) {
    const window = rest.slice(0, maxChars);
    const breakAt = [window.lastIndexOf('\n\n'), window.lastIndexOf('. '), window.lastIndexOf(' ')].find((i) => i > maxChars / 3);
    const end = breakAt === undefined ? maxChars : breakAt + 1;
    chunks.push(rest.slice(0, end).trim());
    rest = rest.slice(end).trim();
  }
  if (rest.length > 0) chunks.push(rest);
  note({ event: 'text-chunked', tokens: estimateTokens(text), maxTokens, chunks: chunks.length });
  return chunks;
}
