/**
 * Rough token arithmetic for budgeting prompts: about four characters a token for English text,
 * which is what providers' own rules of thumb say. Exact counts come back in each call's usage.
 */
export const CHARS_PER_TOKEN = 4;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}
