import type { z } from 'zod';
import { schemaIssues } from '../formats/describe-error.js';
import type { QualityResult, ValidationIssue } from './task-api.js';

export function structureIssues(schema: z.ZodType, value: unknown): { value: unknown; issues: ValidationIssue[] } {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { value: parsed.data, issues: [] };
  return {
    value,
    issues: schemaIssues(parsed.error).map((issue) => ({ kind: 'structure', ...(issue.path ? { path: issue.path } : {}), message: issue.message })),
  };
}

/** A quality check's answer, in any of the shapes it may take, as a list of issues. */
export function qualityIssues(result: QualityResult): ValidationIssue[] {
  if (result === undefined || result === true) return [];
  if (result === false) return [{ kind: 'quality', message: 'the quality check failed' }];
  if (typeof result === 'string') return [{ kind: 'quality', message: result }];
  if (Array.isArray(result)) {
    return result.map((item) =>
      typeof item === 'string' ? { kind: 'quality', message: item } : { kind: 'quality', ...(item.path ? { path: item.path } : {}), message: item.message },
    );
  }
  return [{ kind: 'quality', message: `the quality check returned ${JSON.stringify(result)}; return nothing, true, or a list of issues` }];
}

export function describeIssue(issue: ValidationIssue): string {
  return `(${issue.kind}) ${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

/** The default critique: the problems, then a plain request for the corrected answer. */
export function defaultFeedback(issues: ValidationIssue[], structured: boolean): string {
  const list = issues.map((issue) => `- ${describeIssue(issue)}`).join('\n');
  const ask = structured
    ? 'Reply again with the complete, corrected answer only: one JSON value that matches the schema, with no commentary.'
    : 'Reply again with the complete, corrected answer only.';
  return `Your previous reply could not be accepted:\n${list}\n\n${ask}`;
}
