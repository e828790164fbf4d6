import { err, ok, type Result } from '../result.js';

/**
 * Find the JSON value in a model reply: the whole reply, a ```json fenced block, or the outermost
 * {...} / [...] span. Models wrap JSON in prose and fences more often than not.
 */
export function extractJson(text: string): Result<unknown, string> {
  const trimmed = text.trim();
  if (trimmed === '') return err('the reply was empty');
  const candidates = [trimmed];
  const fenced = /```(?:json|JSON)?\s*\n([\s\S]*?)```/.exec(trimmed);
  if (fenced?.[1]) candidates.push(fenced[1].trim());
  for (const [open, close] of [
    ['{', '}'],
    ['[', ']'],
  ] as const) {
    const start = trimmed.indexOf(open);
    const end = trimmed.lastIndexOf(close);
    if (start >= 0 && end > start) candidates.push(trimmed.slice(start, end + 1));
  }
  let firstError = '';
  for (const candidate of candidates) {
    try {
      return ok(JSON.parse(candidate));
    } catch (error) {
      firstError ||= (error as Error).message;
    }
  }
  return err(`the reply is not valid JSON (${firstError})`);
}
