import type { ManagerEvent } from '../manager/events.js';
import { formatDuration } from './table.js';

const REDRAW_MS = 1000;

interface ActiveRun {
  task: string;
  stage: string;
  call: number;
  attempt: number;
  taskStartedAt: number;
  tokens: number;
  items?: { total: number; complete: number } | undefined;
}

/**
 * On a terminal: event lines scroll as usual, and below them one live line per active run (task,
 * stage, attempt, elapsed, tokens so far), redrawn in place.
 */
export class LiveProgress {
  private readonly runs = new Map<string, ActiveRun>();
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
      case 'task-started': {
        const previous = this.runs.get(event.run);
        this.runs.set(event.run, { task: event.task, stage: 'starting', call: 1, attempt: event.attempt, taskStartedAt: Date.now(), tokens: previous?.tokens ?? 0 });
        break;
      }
      case 'task-stage': {
        const run = this.runs.get(event.run);
        if (run) Object.assign(run, { stage: event.stage, call: event.call });
        break;
      }
      case 'task-items': {
        const run = this.runs.get(event.run);
        if (run) run.items = { total: event.total, complete: event.complete };
        break;
      }
      case 'task-complete': {
        const run = this.runs.get(event.run);
        if (run) run.tokens += event.usage.inputTokens + event.usage.outputTokens;
        break;
      }
      case 'run-complete':
      case 'run-failed':
      case 'run-interrupted':
        this.runs.delete(event.run);
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
    const lines = [...this.runs].map(([id, run]) => {
      const elapsed = formatDuration(Date.now() - run.taskStartedAt);
      const text = `  ▸ ${id} · ${run.task} · ${run.items ? `items ${run.items.complete}/${run.items.total}` : `${run.stage}${run.call > 1 ? ` (call ${run.call})` : ''}`} · attempt ${run.attempt} · ${elapsed} · ${run.tokens} tokens`;
      return `\x1b[2m${text.slice(0, width - 1)}\x1b[0m`;
    });
    if (lines.length === 0) return;
    this.out.write(`${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}
