import type { Logger } from 'pino';
import type { SeedRejectionReason } from '../formats/seed-rejection.js';
import type { TaskFailureReason } from '../formats/task-failure.js';
import type { Usage } from '../formats/usage.js';

/** Everything the manager reports, as typed events: each becomes one greppable log line. */
export type ManagerEvent =
  | { event: 'manager-started'; root: string; pipeline: string; tasks: string[]; concurrency: number; once: boolean }
  | { event: 'manager-ready'; resumed: number; pending: 'watching' | 'once' }
  | { event: 'manager-stopping'; signal: string; running: number }
  | { event: 'manager-stopped'; completed: number; failed: number; rejected: number }
  | { event: 'pipeline-reloaded'; pipeline: string; tasks: string[] }
  | { event: 'pipeline-invalid'; problems: string[] }
  | { event: 'seed-waiting'; seed: string; message: string }
  | { event: 'seed-claimed'; seed: string; run: string }
  | { event: 'seed-rejected'; seed: string; reason: SeedRejectionReason; message: string; movedTo: string }
  | { event: 'seed-duplicate'; seed: string; run: string }
  | { event: 'run-resumed'; run: string; state: string }
  | { event: 'runs-queued'; queued: number }
  | { event: 'run-started'; run: string; tasks: number }
  | { event: 'task-started'; run: string; task: string; attempt: number; model: string }
  | { event: 'task-stage'; run: string; task: string; stage: string; call: number }
  /** `start --queue`: the worker (host:pid) that took the attempt. */
  | { event: 'task-worker'; run: string; task: string; attempt: number; worker: string }
  | { event: 'task-items'; run: string; task: string; total: number; complete: number; failed: number }
  | { event: 'task-waiting'; run: string; task: string; model?: string; reason: string; message?: string; waitMs?: number | undefined }
  | { event: 'task-complete'; run: string; task: string; attempt: number; durationMs: number; refinements: number; usage: Usage; model: string | null }
  | { event: 'task-recovered'; run: string; task: string }
  | { event: 'task-retrying'; run: string; task: string; attempt: number; reason: TaskFailureReason; message: string }
  | { event: 'task-failed'; run: string; task: string; attempt: number; reason: TaskFailureReason; message: string; artifact?: string }
  | { event: 'run-complete'; run: string; durationMs: number; dir: string }
  | { event: 'run-failed'; run: string; task: string; reason: string; message: string; dir: string }
  | { event: 'run-interrupted'; run: string; task: string }
  | { event: 'run-busy'; run: string; pid: number; command: string }
  /** The run's lock could not be taken (disk full): it stays queued; retryInMs null when left for the next start. */
  | { event: 'run-deferred'; run: string; reason: 'lock-unavailable'; message: string; retryInMs: number | null }
  | { event: 'run-requested'; run: string; pipeline: 'snapshot' | 'current' }
  | { event: 'request-invalid'; path: string; message: string }
  | { event: 'state-unreadable'; path: string; message: string }
  /** runs.jsonl ended in a torn line (a write cut short): cut off, and kept in keptIn. */
  | { event: 'runs-file-repaired'; path: string; bytes: number; keptIn: string }
  | { event: 'internal-error'; message: string; stack?: string; run?: string; task?: string };

const WARN = new Set(['task-retrying', 'seed-rejected', 'seed-waiting', 'task-failed', 'run-interrupted', 'seed-duplicate', 'run-busy', 'run-deferred', 'runs-file-repaired', 'request-invalid']);
const ERROR = new Set(['run-failed', 'state-unreadable', 'internal-error', 'pipeline-invalid']);

export type EmitEvent = (event: ManagerEvent) => void;

/** Log an event at the level its kind deserves; progress stages are debug-level noise. */
export function logEvent(log: Logger, event: ManagerEvent): void {
  const { event: name, ...fields } = event;
  const line = { event: name, ...fields };
  if (ERROR.has(name)) log.error(line);
  else if (WARN.has(name)) log.warn(line);
  else if (name === 'task-stage' || name === 'task-items' || name === 'runs-queued' || name === 'task-worker') log.debug(line);
  else log.info(line);
}
