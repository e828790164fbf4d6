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
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issueMessage(issue) }));
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
