import { z } from 'zod';
import { WaitingSchema } from '../../formats/waiting.js';

/**
 * Lenient readings of the files a run leaves, for display only. The view must show runs written by
 * older and newer versions of POP, so every field degrades to "absent" instead of failing the page,
 * and fields this version does not know (items, copied, cached, needs, running) are kept when present.
 */
const optionalNumber = z.number().optional().catch(undefined);
const optionalString = z.string().optional().catch(undefined);

export const LooseUsageSchema = z
  .looseObject({
    inputTokens: z.number().catch(0),
    outputTokens: z.number().catch(0),
    calls: z.number().catch(0),
    cachedCalls: optionalNumber,
    batchCalls: optionalNumber,
  })
  .catch({ inputTokens: 0, outputTokens: 0, calls: 0 });
export type LooseUsage = z.output<typeof LooseUsageSchema>;

export const LooseFailureSchema = z.looseObject({
  reason: z.string().catch('unknown'),
  message: z.string().catch(''),
  stage: optionalString,
  stack: optionalString,
  artifact: optionalString,
  issues: z.array(z.string()).optional().catch(undefined),
  stderrTail: optionalString,
  task: optionalString,
});
export type LooseFailure = z.output<typeof LooseFailureSchema>;

export const ItemCountsSchema = z.object({
  total: z.number().catch(0),
  complete: z.number().catch(0),
  failed: z.number().catch(0),
  reused: optionalNumber,
  failedItems: z.array(z.string()).optional().catch(undefined),
});

export const LooseTaskStatusSchema = z.looseObject({
  state: z.string().catch('pending'),
  attempts: z.number().catch(0),
  refinements: z.number().catch(0),
  startedAt: optionalString,
  endedAt: optionalString,
  durationMs: optionalNumber,
  model: optionalString,
  usage: LooseUsageSchema.optional().catch(undefined),
  costUsd: optionalNumber,
  escalations: optionalNumber,
  error: LooseFailureSchema.optional().catch(undefined),
  items: ItemCountsSchema.optional().catch(undefined),
  copied: z.boolean().optional().catch(undefined),
  waiting: WaitingSchema.optional().catch(undefined),
});
export type LooseTaskStatus = z.output<typeof LooseTaskStatusSchema>;

export const LooseRunStatusSchema = z.looseObject({
  id: z.string(),
  pipeline: z.string().catch('?'),
  state: z.string().catch('unknown'),
  source: z.looseObject({ file: z.string().catch('?') }).catch({ file: '?' }),
  createdAt: z.string().catch(''),
  startedAt: optionalString,
  updatedAt: z.string().catch(''),
  /** One running task (older status files) ... */
  current: z.string().nullable().optional().catch(undefined),
  /** ... or every running task of the run (task graphs). */
  running: z.array(z.string()).optional().catch(undefined),
  tasks: z.record(z.string(), LooseTaskStatusSchema).catch({}),
  rerunOf: z.looseObject({ run: z.string(), from: z.string() }).optional().catch(undefined),
  error: LooseFailureSchema.optional().catch(undefined),
});
export type LooseRunStatus = z.output<typeof LooseRunStatusSchema>;

export const LooseResponseSchema = z.looseObject({
  call: optionalNumber,
  model: optionalString,
  text: z.string().catch(''),
  usage: z
    .looseObject({ inputTokens: z.number().catch(0), outputTokens: z.number().catch(0) })
    .optional()
    .catch(undefined),
  latencyMs: optionalNumber,
  skipped: z.array(z.looseObject({ model: z.string().catch('?'), reason: z.string().catch('?'), message: optionalString })).catch([]),
  cached: z.boolean().optional().catch(undefined),
});
export type LooseResponse = z.output<typeof LooseResponseSchema>;

export const LooseIssueSchema = z.union([z.string(), z.looseObject({ kind: optionalString, message: z.string().catch(''), path: z.unknown().optional() })]);
export const LooseValidationSchema = z.looseObject({ call: optionalNumber, ok: z.boolean().catch(false), issues: z.array(LooseIssueSchema).catch([]) });
export const LooseCritiqueSchema = z.looseObject({ afterCall: optionalNumber, issues: z.array(LooseIssueSchema).catch([]), feedback: z.string().catch('') });
export const LooseParsedSchema = z.looseObject({ ok: z.boolean().optional().catch(undefined), error: optionalString, value: z.unknown().optional() });
export const LooseOutputSchema = z.looseObject({
  task: optionalString,
  value: z.unknown(),
  model: z.string().nullable().optional().catch(undefined),
  usage: LooseUsageSchema.optional().catch(undefined),
  refinements: optionalNumber,
  costUsd: optionalNumber,
  finishedAt: optionalString,
});
export const LoosePromptSchema = z.looseObject({
  messages: z.array(z.looseObject({ role: z.string().catch('?'), content: z.unknown() })).catch([]),
  schema: z.unknown().optional(),
});
export type LoosePrompt = z.output<typeof LoosePromptSchema>;

export type LooseIssue = z.output<typeof LooseIssueSchema>;
export const issueText = (issue: LooseIssue) => (typeof issue === 'string' ? issue : `${issue.kind ? `(${issue.kind}) ` : ''}${issue.message}`);
