import { createHash } from 'node:crypto';

/**
 * A batched call's id (the batch's `custom_id`): the same request of the same task (and item) of
 * the same run always gets the same id, so a parked task that runs again finds its answer however
 * its calls are numbered by then. The same request made twice in one run of the task (sampling it
 * twice) is told apart by `occurrence`. Any change to the request (prompt, model, schema) is
 * another id.
 */
export function batchRequestId(owner: { run: string; task: string; item?: number | undefined }, requestKey: string, occurrence: number): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([owner.run, owner.task, owner.item ?? null, requestKey, occurrence]))
    .digest('hex');
  return `pop_${hash.slice(0, 40)}`;
}
