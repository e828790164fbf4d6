import type { Waiting } from '../formats/waiting.js';
import { formatDuration } from '../util/format-numbers.js';

/**
 * What a parked task waits for, in one line: the provider, the batch and its counts, how long:
 * "openai batch batch_abc: 120/200 answered, 3 failed · submitted 2 h 3 m ago · waiting 2 h 5 m".
 */
export function describeWaiting(waiting: Waiting, now = Date.now()): string {
  const parts = [
    waiting.batch
      ? `${waiting.provider} batch ${waiting.batch}`
      : `${waiting.requests} call${waiting.requests === 1 ? '' : 's'} for ${waiting.provider}'s Batch API, not submitted yet`,
  ];
  if (waiting.batch) {
    const counts = waiting.counts;
    parts[0] += counts
      ? `: ${counts.succeeded}/${counts.total} answered${counts.failed ? `, ${counts.failed} failed` : ''}`
      : `: ${waiting.requests} request${waiting.requests === 1 ? '' : 's'}`;
  }
  if (waiting.submittedAt) parts.push(`submitted ${formatDuration(now - Date.parse(waiting.submittedAt))} ago`);
  parts.push(`waiting ${formatDuration(now - Date.parse(waiting.parkedAt))}`);
  return parts.join(' · ');
}
