/**
 * Rough token arithmetic for budgeting prompts: about four characters a token for English text,
 * which is what providers' own rules of thumb say. Exact counts come back in each call's usage.
 */
const CHARS_PER_TOKEN = 4;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** Cut text to about `maxTokens`, at a word boundary, marking the cut. */
export function truncateToTokens(text: string, maxTokens: number, marker = ' […]'): string {
  const maxChars = maxTokens * CHARS_PER_TOKEN;
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, Math.max(0, maxChars - marker.length));
  const lastSpace = cut.lastIndexOf(' ');
  return `${lastSpace > maxChars / 2 ? cut.slice(0, lastSpace) : cut}${marker}`;
}

/** Split text into chunks of about `maxTokens`, preferring paragraph, then sentence, then word breaks. */
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
  return chunks;
}
