import type { ManagerEvent } from '../manager/events.js';
import { formatCalls, formatDuration } from './table.js';

const REDRAW_MS = 1000;

interface RunningTask {
  run: string;
  task: string;
  stage: string;
  call: number;
  attempt: number;
  taskStartedAt: number;
  items?: { total: number; complete: number } | undefined;
  /** Held back by its provider's limits: why, and until when when that is known. */
  waiting?: { reason: string; until: number | undefined } | undefined;
  worker?: string;
  /** The escalation rung and model of its latest call, once it climbed. */
  escalated?: { rung: number; model: string } | undefined;
}

/**
 * On a terminal: event lines scroll as usual, and below them one live line per running task (run,
 * task, stage, attempt, elapsed, the run's tokens so far) and how many runs are queued, redrawn
 * in place.
 */
export class LiveProgress {
  /** By run and task: several tasks of one run may run at once. */
  private readonly tasks = new Map<string, RunningTask>();
  private readonly runTokens = new Map<string, number>();
  /** A run's calls so far, as the ledger records them, and how many came from the call cache. */
  private readonly runCalls = new Map<string, { calls: number; cachedCalls: number }>();
  private queued = 0;
  /** Batches open at their providers, by batch id: what parked tasks wait for. */
  private readonly batches = new Map<string, { provider: string; requests: number; answered: number; since: number }>();
  /** Tasks parked on a Batch API, holding no process. */
  private readonly parked = new Set<string>();
  private drawnLines = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly out: NodeJS.WriteStream) {
    this.timer = setInterval(() => this.redraw(), REDRAW_MS);
    this.timer.unref();
  }

  /** Print a line above the live block. */
  print(text: string): void {
    this.clear();
    this.out.write(`${text}\n`);
    this.draw();
  }

  onEvent(event: ManagerEvent): void {
    switch (event.event) {
      case 'task-started':
        this.parked.delete(key(event.run, event.task));
        this.tasks.set(key(event.run, event.task), {
          run: event.run,
          task: event.task,
          stage: 'starting',
          call: 1,
          attempt: event.attempt,
          taskStartedAt: Date.now(),
        });
        break;
      case 'task-stage': {
        const task = this.tasks.get(key(event.run, event.task));
        if (task) Object.assign(task, { stage: event.stage, call: event.call, waiting: undefined });
        break;
      }
      case 'task-waiting': {
        // Until its next stage: the task is held back by its provider's limits, not working.
        const task = this.tasks.get(key(event.run, event.task));
        if (task) task.waiting = { reason: event.reason, until: event.waitMs === undefined ? undefined : Date.now() + event.waitMs };
        break;
      }
      case 'task-worker': {
        const task = this.tasks.get(key(event.run, event.task));
        if (task) task.worker = event.worker;
        break;
      }
      case 'task-items': {
        const task = this.tasks.get(key(event.run, event.task));
        if (task) task.items = { total: event.total, complete: event.complete };
        break;
      }
      case 'task-call': {
        const running = this.tasks.get(key(event.run, event.task));
        if (running && event.rung) running.escalated = { rung: event.rung, model: event.model };
        if (event.outcome !== 'answered') return;
        const calls = this.runCalls.get(event.run) ?? { calls: 0, cachedCalls: 0 };
        if (event.cached) calls.cachedCalls++;
        else {
          calls.calls++;
          this.runTokens.set(event.run, (this.runTokens.get(event.run) ?? 0) + event.tokens);
        }
        this.runCalls.set(event.run, calls);
        break;
      }
      case 'task-complete':
        // Calls made on a queue's workers are not told one by one: they count when their task ends.
        if (event.worker) {
          const calls = this.runCalls.get(event.run) ?? { calls: 0, cachedCalls: 0 };
          calls.calls += event.usage.calls;
          calls.cachedCalls += event.usage.cachedCalls ?? 0;
          this.runCalls.set(event.run, calls);
          this.runTokens.set(event.run, (this.runTokens.get(event.run) ?? 0) + event.usage.inputTokens + event.usage.outputTokens);
        }
        this.tasks.delete(key(event.run, event.task));
        break;
      case 'task-failed':
      case 'task-retrying':
        this.tasks.delete(key(event.run, event.task));
        this.parked.delete(key(event.run, event.task));
        break;
      case 'task-parked':
        this.tasks.delete(key(event.run, event.task));
        this.parked.add(key(event.run, event.task));
        break;
      case 'batch-submitted':
      case 'batch-reattached':
        this.batches.set(event.batch, {
          provider: event.provider,
          requests: 'requests' in event ? event.requests : 0,
          answered: 0,
          since: Date.now(),
        });
        break;
      case 'batch-progress': {
        const batch = this.batches.get(event.batch);
        if (batch) Object.assign(batch, { requests: event.counts.total, answered: event.counts.succeeded });
        break;
      }
      case 'batch-ended':
        this.batches.delete(event.batch);
        break;
      case 'runs-queued':
        this.queued = event.queued;
        break;
      case 'run-complete':
      case 'run-failed':
      case 'run-interrupted':
        for (const [at, task] of this.tasks) if (task.run === event.run) this.tasks.delete(at);
        for (const at of this.parked) if (at.startsWith(`${event.run}\u0000`)) this.parked.delete(at);
        this.runTokens.delete(event.run);
        this.runCalls.delete(event.run);
        break;
      default:
        return;
    }
    this.redraw();
  }

  stop(): void {
    clearInterval(this.timer);
    this.clear();
  }

  private redraw(): void {
    this.clear();
    this.draw();
  }

  private clear(): void {
    if (this.drawnLines > 0) this.out.write(`\x1b[${this.drawnLines}F\x1b[J`);
    this.drawnLines = 0;
  }

  private draw(): void {
    const width = this.out.columns || 100;
    const texts = [...this.tasks.values()].map((task) => {
      const elapsed = formatDuration(Date.now() - task.taskStartedAt);
      const doing = task.items ? `items ${task.items.complete}/${task.items.total}` : `${task.stage}${task.call > 1 ? ` (call ${task.call})` : ''}`;
      const now = Date.now();
      const waiting = task.waiting && (task.waiting.until === undefined || task.waiting.until > now) ? task.waiting : undefined;
      const wait = waiting ? ` · model-waiting (${waiting.reason}${waiting.until === undefined ? '' : `, ${formatDuration(waiting.until - now)} left`})` : '';
      const climbed = task.escalated ? ` · escalated to ${task.escalated.model} (rung ${task.escalated.rung})` : '';
      return `  ▸ ${task.run} · ${task.task} · ${doing}${climbed}${wait} · attempt ${task.attempt}${task.worker ? ` on ${task.worker}` : ''} · ${elapsed} · ${formatCalls(this.runCalls.get(task.run) ?? { calls: 0 })} calls · ${this.runTokens.get(task.run) ?? 0} tokens`;
    });
    for (const [id, batch] of this.batches)
      texts.push(`  ⏸ batch ${id} at ${batch.provider} · ${batch.answered}/${batch.requests} answered · open ${formatDuration(Date.now() - batch.since)}`);
    if (this.parked.size > 0) texts.push(`  ${this.parked.size} task(s) parked on a Batch API, holding no process`);
    if (this.queued > 0) texts.push(`  ${this.queued} run(s) queued`);
    const lines = texts.map((text) => `\x1b[2m${text.slice(0, width - 1)}\x1b[0m`);
    if (lines.length === 0) return;
    this.out.write(`${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}

const key = (run: string, task: string) => `${run}\u0000${task}`;
