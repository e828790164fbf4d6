import type { z } from 'zod';

export interface SchemaIssue {
  path: string;
  message: string;
}

/** `facts[2].statement` style paths, the way a person would point into the file. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

export function schemaIssues(error: z.ZodError): SchemaIssue[] {
  return error.issues.flatMap((issue) => specificIssues(issue, [])).map((issue) => ({ path: formatPath(issue.path), message: issueMessage(issue) }));
}

/**
 * A value that fits no branch of a union is "Invalid input" to zod. Said more usefully: the
 * problems of the branch that got furthest into it (a task entry that is an object: its field's
 * problem, not "expected string"), or, when every branch fails on the value itself, what each
 * branch expected.
 */
function specificIssues(issue: z.core.$ZodIssue, base: PropertyKey[]): z.core.$ZodIssue[] {
  const path = [...base, ...issue.path];
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [{ ...issue, path }];
  const depth = (branch: z.core.$ZodIssue[]) => Math.max(...branch.map((inner) => inner.path.length + (inner.code === 'invalid_union' ? 1 : 0)));
  const furthest = issue.errors.reduce((best, branch) => (depth(branch) > depth(best) ? branch : best));
  if (depth(furthest) > 0) return furthest.flatMap((inner) => specificIssues(inner, path));
  const expected = issue.errors.flatMap((branch) => branch.map((inner) => inner.message.replace(/^Invalid input: /, '')));
  return [{ ...issue, path, message: `Invalid input: ${[...new Set(expected)].join(', or ')}` }];
}

/** A field that is missing is "required", not "expected array, received undefined". */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'invalid_type' || issue.path.length === 0 || !issue.message.endsWith('received undefined')) return issue.message;
  const expected = String(issue.expected);
  return `required (${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected})`;
}

/** One line per problem, each with where it is. */
export function describeZodError(error: z.ZodError): string {
  return schemaIssues(error)
    .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
    .join('; ');
}
