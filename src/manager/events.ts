import type { Logger } from 'pino';
import type { SeedRejectionReason } from '../formats/seed-rejection.js';
import type { TaskFailureReason } from '../formats/task-failure.js';
import type { Usage } from '../formats/usage.js';
import type { BatchEvent } from '../batch/batch-pool.js';

/** Everything the manager reports, as typed events: each becomes one greppable log line. */
export type ManagerEvent =
  | { event: 'manager-started'; root: string; pipeline: string; tasks: string[]; concurrency: number; once: boolean }
  | { event: 'manager-ready'; resumed: number; pending: 'watching' | 'once' }
  | { event: 'manager-stopping'; signal: string; running: number; graceMs: number }
  | { event: 'manager-forcing'; signal: string; running: number }
  | { event: 'manager-stopped'; completed: number; failed: number; rejected: number }
  | { event: 'pipeline-reloaded'; pipeline: string; tasks: string[] }
  | { event: 'pipeline-invalid'; problems: string[] }
  /** A setting that does nothing as written. */
  | { event: 'pipeline-warning'; message: string }
  | { event: 'seed-waiting'; seed: string; message: string }
  | { event: 'seed-claimed'; seed: string; run: string }
  | { event: 'seed-rejected'; seed: string; reason: SeedRejectionReason; message: string; movedTo: string }
  /** The crash-left copy of a run's seed, set aside (movedTo) at start. */
  | { event: 'seed-duplicate'; seed: string; run: string; movedTo: string }
  | { event: 'run-resumed'; run: string; state: string }
  | { event: 'runs-queued'; queued: number }
  | { event: 'run-started'; run: string; tasks: number }
  | { event: 'task-started'; run: string; task: string; attempt: number; model: string }
  | { event: 'task-stage'; run: string; task: string; stage: string; call: number }
  /** `start --queue`: the worker (host:pid) that took the attempt. */
  | { event: 'task-worker'; run: string; task: string; attempt: number; worker: string }
  /** `start --queue`: the attempt's job left the queue (Redis lost it) or failed before the attempt ended; it is judged once the attempt has ended. */
  | { event: 'task-job-lost'; run: string; task: string; attempt: number; message: string }
  | { event: 'task-items'; run: string; task: string; total: number; complete: number; failed: number }
  | { event: 'task-waiting'; run: string; task: string; model?: string; reason: string; message?: string; waitMs?: number | undefined }
  | {
      event: 'task-complete';
      run: string;
      task: string;
      attempt: number;
      durationMs: number;
      refinements: number;
      usage: Usage;
      model: string | null;
      costUsd?: number;
      worker?: string;
    }
  /** Keys found in files a task process wrote, taken out before anything read them. */
  | { event: 'secrets-redacted'; run: string; task: string; artifact: string; variables: string[] }
  /** A task's calls.jsonl had torn lines (skipped) or could not be read. */
  | { event: 'ledger-problem'; run: string; task: string; skipped: number; message?: string }
  | { event: 'task-recovered'; run: string; task: string }
  /** One model call recorded in the task's ledger. */
  | { event: 'task-call'; run: string; task: string; model: string; outcome: 'answered' | 'failed' | 'aborted'; cached: boolean; tokens: number; rung?: number }
  | { event: 'task-retrying'; run: string; task: string; attempt: number; reason: TaskFailureReason; message: string }
  | { event: 'task-failed'; run: string; task: string; attempt: number; reason: TaskFailureReason; message: string; artifact?: string }
  | { event: 'run-complete'; run: string; durationMs: number; dir: string }
  | { event: 'run-failed'; run: string; task: string; reason: string; message: string; dir: string }
  | { event: 'run-interrupted'; run: string; task: string }
  /** A task's calls wait for the Batch API: it holds no process until they are answered. */
  | { event: 'task-parked'; run: string; task: string; attempt: number; provider: string; requests: number }
  /** Every task that could run has; some wait for the Batch API. The run continues once they are answered. */
  | { event: 'run-waiting'; run: string; tasks: string[] }
  /** The Batch API's progress (see src/batch/batch-pool.ts). */
  | BatchEvent
  /** `start --once` ends with calls still at the Batch API: a later start continues them. */
  | { event: 'batches-waiting'; requests: number; runs: string[] }
  | { event: 'run-busy'; run: string; pid: number; command: string }
  /** The run's lock could not be taken (disk full): it stays queued; retryInMs null when left for the next start. */
  | { event: 'run-deferred'; run: string; reason: 'lock-unavailable'; message: string; retryInMs: number | null }
  | { event: 'run-requested'; run: string; pipeline: 'snapshot' | 'current' }
  | { event: 'request-invalid'; path: string; message: string }
  | { event: 'state-unreadable'; path: string; message: string }
  /** runs.jsonl ended in a torn line (a write cut short): cut off, and kept in keptIn. */
  | { event: 'runs-file-repaired'; path: string; bytes: number; keptIn: string }
  /** A lock held on another host whose heartbeat had stopped: taken over. */
  | { event: 'lock-taken-over'; path: string; host: string; pid: number; heartbeatAt: string }
  /** This manager's lock was taken over by another host (its heartbeat had stopped): it stops. */
  | { event: 'lock-lost'; path: string; host: string; pid: number }
  /** The workspace is on a network file system and tasks run here: another host's manager is kept out only by the lock's heartbeat. */
  | { event: 'workspace-on-network-fs'; root: string; fileSystem: string; message: string }
  | { event: 'internal-error'; message: string; stack?: string; run?: string; task?: string };

const WARN = new Set([
  'batch-error',
  'batch-unsupported',
  'batch-refused',
  'pipeline-warning',
  'secrets-redacted',
  'ledger-problem',
  'manager-forcing',
  'task-retrying',
  'seed-rejected',
  'seed-waiting',
  'task-failed',
  'run-interrupted',
  'seed-duplicate',
  'run-busy',
  'run-deferred',
  'runs-file-repaired',
  'request-invalid',
  'task-job-lost',
  'lock-taken-over',
  'workspace-on-network-fs',
]);
const ERROR = new Set(['run-failed', 'state-unreadable', 'internal-error', 'pipeline-invalid', 'lock-lost']);

export type EmitEvent = (event: ManagerEvent) => void;

/** Log an event at the level its kind deserves; progress stages are debug-level noise. */
export function logEvent(log: Logger, event: ManagerEvent): void {
  const { event: name, ...fields } = event;
  const line = { event: name, ...fields };
  if (ERROR.has(name)) log.error(line);
  else if (WARN.has(name)) log.warn(line);
  else if (name === 'task-stage' || name === 'task-call' || name === 'task-items' || name === 'runs-queued' || name === 'task-worker') log.debug(line);
  else log.info(line);
}
