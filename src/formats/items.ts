import { z } from 'zod';
import { UsageSchema } from './usage.js';

/** An item's folder name under tasks/<task>/items/: its position from 1, four digits. */
export const ItemFolderSchema = z.string().regex(/^\d{4,}$/);

/** How far a fan-out task has got: in tasks-status.json and the task's output.json. */
export const ItemCountsSchema = z.object({
  total: z.number().int().min(0),
  complete: z.number().int().min(0).describe('items whose output.json is written (reused ones included)'),
  failed: z.number().int().min(0),
  reused: z.number().int().min(0).optional().describe('items taken from an earlier attempt, with no model call'),
  failedItems: z.array(ItemFolderSchema).optional().describe('the folders of the items that failed'),
});

/** Most items a fan-out progress message reports as newly failed: one per item that finished since the last. */
export const MAX_FAILED_PER_PROGRESS = 10_000;

/**
 * A fan-out's progress as its task process reports it: the counts, and only the items that failed
 * since its previous report (the manager adds them up), so each message stays small.
 */
export const ItemProgressSchema = ItemCountsSchema.omit({ failedItems: true }).extend({
  newlyFailed: z.array(ItemFolderSchema).max(MAX_FAILED_PER_PROGRESS).optional(),
});

/** An item that never validated (or whose stages threw), as finalize's ctx.failedItems and output.json list it. */
export const FailedItemSchema = z.object({
  index: z.number().int().min(0).describe('position in the list `each` returned, from 0'),
  item: ItemFolderSchema,
  reason: z.string(),
  message: z.string(),
  issues: z.array(z.string()).optional(),
  artifact: z.string().optional().describe('the file to open first, relative to the run folder'),
});

/** A text cut short by truncateToTokens while the task ran. */
export const TruncationSchema = z.object({
  stage: z.string().describe('the stage that cut it'),
  tokens: z.number().int().min(0).describe('estimated tokens of the whole text'),
  keptTokens: z.number().int().min(0).describe('estimated tokens kept'),
});

/** tasks/<task>/02-items.json: what `each` returned; large items by size and sha256 only. */
export const ItemsFileSchema = z.object({
  count: z.number().int().min(0),
  items: z.array(
    z.object({
      index: z.number().int().min(0),
      item: ItemFolderSchema,
      bytes: z.number().int().min(0).describe('size of the item as JSON'),
      sha256: z.string().describe('of the item as JSON: an unchanged item is reused by a later attempt'),
      value: z.unknown().optional().describe('the item itself, when it is small'),
    }),
  ),
});

/** tasks/<task>/items/<nnnn>/output.json: one item's validated value, written the moment it validates. */
export const ItemOutputSchema = z.object({
  index: z.number().int().min(0),
  item: ItemFolderSchema,
  sha256: z.string().describe('of the item it was made from'),
  value: z.unknown(),
  model: z.string().nullable(),
  usage: UsageSchema,
  refinements: z.number().int().min(0),
  escalations: z.number().int().min(0).optional().describe('moves up the escalation ladder before it validated'),
  costUsd: z.number().min(0).optional(),
  attempt: z.number().int().min(1).describe('the task attempt that made it'),
  callSha256: z
    .string()
    .optional()
    .describe('of the models, the rendered prompt messages and the output schema it was asked with: reused only while they are the same'),
  finishedAt: z.string(),
});

export type ItemCounts = z.output<typeof ItemCountsSchema>;
export type ItemProgress = z.output<typeof ItemProgressSchema>;
export type FailedItem = z.output<typeof FailedItemSchema>;
export type Truncation = z.output<typeof TruncationSchema>;
export type ItemsFile = z.output<typeof ItemsFileSchema>;
export type ItemOutput = z.output<typeof ItemOutputSchema>;
