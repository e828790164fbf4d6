import { redactText } from '../../secrets/known-secrets.js';

/**
 * HTML built with a tagged template that escapes every interpolated value unless it is already
 * HTML made the same way: text from a run's files can never become markup on a page. Keys are
 * taken out of a value before it is escaped: once escaped, a key holding `&<>"'` no longer reads
 * as itself, and redaction of the page would miss it.
 */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);

function fragment(value: unknown): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(fragment).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(redactText(String(value)));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (const [index, value] of values.entries()) out += fragment(value) + strings[index + 1]!;
  return new SafeHtml(out);
}

/** Query string from the values that are set. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const runHref = (id: string) => `/runs/${encodeURIComponent(id)}`;
export const taskHref = (id: string, task: string) => `${runHref(id)}/tasks/${encodeURIComponent(task)}`;
export const itemHref = (id: string, task: string, item: string) => `${taskHref(id, task)}/items/${encodeURIComponent(item)}`;
/** A file of a run, by its path relative to the run folder. */
export const fileHref = (id: string, relPath: string) => `${runHref(id)}/files/${relPath.split('/').map(encodeURIComponent).join('/')}`;
export const compareHref = (a: string, b: string) => `/compare${query({ a, b })}`;
