import { messageOf } from '../result.js';
import { redactText } from '../secrets/known-secrets.js';
import type { PendingRequest } from '../formats/batch.js';
import type { BatchApi } from './batch-api.js';
import { isOpen, readPendingOfRun, readSubmissions, removeRunPending, writeSubmission, type BatchPaths } from './batch-store.js';

export interface CancelReport {
  /** Calls that were still waiting to be submitted: dropped. */
  unsubmitted: number;
  /** Batches that held only this run's calls: cancelled at the provider. */
  cancelled: string[];
  /** Batches shared with other runs' calls: left to finish (this run's answers are kept, unused). */
  shared: string[];
  /** Batches the provider would not cancel, and why. */
  problems: string[];
}

/**
 * Cancel a run's calls waiting for the Batch API: those not submitted are dropped; a batch holding
 * only this run's calls is cancelled at its provider; a batch shared with other runs goes on.
 */
export async function cancelRunBatches(paths: BatchPaths, run: string, apiFor: (request: PendingRequest) => Promise<BatchApi>): Promise<CancelReport> {
  const report: CancelReport = { unsubmitted: 0, cancelled: [], shared: [], problems: [] };
  const submitted = new Set<string>();
  for (const submission of await readSubmissions(paths)) {
    if (!isOpen(submission)) continue;
    const ours = submission.requests.filter((request) => request.owner.run === run);
    if (ours.length === 0) continue;
    for (const request of ours) submitted.add(request.id);
    const name = submission.batch ?? submission.key;
    if (ours.length < submission.requests.length) {
      report.shared.push(name);
      continue;
    }
    try {
      if (submission.batch) await (await apiFor(ours[0]!)).cancel(submission.batch);
      await writeSubmission(paths, { ...submission, state: 'cancelled', endedAt: new Date().toISOString(), message: `cancelled with pop cancel ${run}` });
      report.cancelled.push(name);
    } catch (error) {
      report.problems.push(`${name}: ${redactText(messageOf(error))}`);
    }
  }
  report.unsubmitted = (await readPendingOfRun(paths, run)).filter((request) => !submitted.has(request.id)).length;
  await removeRunPending(paths, run);
  return report;
}
