import { createHash } from 'node:crypto';

/**
 * A batched call's id (the batch's `custom_id`): the same call of the same task of the same run,
 * with the same request, always gets the same id, so a parked task that runs again finds its
 * answer, and a call asked twice is parked once. Any change to the request (prompt, model, schema)
 * is another id.
 */
export function batchRequestId(owner: { run: string; task: string; item?: number | undefined; call: number }, requestKey: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([owner.run, owner.task, owner.item ?? null, owner.call, requestKey]))
    .digest('hex');
  return `pop_${hash.slice(0, 40)}`;
}
