import { RunnerProcess } from './runner-process.js';
import { outsideAnyRun } from '../last-resort.js';
import { keyGeneration } from '../../secrets/secret-variables.js';

/** How long a standby nobody took waits before it is retired (POP_STANDBY_IDLE_MS overrides it). */
const IDLE_MS = Number(process.env.POP_STANDBY_IDLE_MS) || 30_000;

/**
 * Warm standby runner children: each has already started Node and loaded the runner, and waits for
 * a letter. Handing one a task takes a message instead of a process start; a replacement starts at
 * once, while the task runs. Every task still gets a fresh process. Only tasks with the pipeline's
 * default heap limit use them (the limit is set at start). What a standby prints before it has a
 * task goes to that task's console.log.
 *
 * They follow the work: as many as tasks waiting to start, plus one, never more than `max`; none
 * once no task has taken one for a while. A quiet manager holds no idle processes.
 */
export class StandbyPool {
  private readonly idle: RunnerProcess[] = [];
  /** The key variables known when each standby started: one started before a key variable was named may have it in its environment. */
  private readonly bornUnder = new WeakMap<RunnerProcess, number>();
  private closed = false;
  private retireTimer: NodeJS.Timeout | undefined;

  /** `waiting`: how many tasks are ready to start and wait for a slot. */
  constructor(
    private readonly workspace: string,
    private readonly memoryMb: number,
    private readonly max: number,
    private readonly waiting: () => number = () => 0,
  ) {}

  start(): void {
    this.fill();
  }

  /** A live standby for a task with this heap limit, or undefined (then spawn one for it). */
  take(memoryMb: number): RunnerProcess | undefined {
    if (this.closed || memoryMb !== this.memoryMb) return undefined;
    let runner: RunnerProcess | undefined;
    while ((runner = this.idle.shift()) && (!runner.alive || this.bornUnder.get(runner) !== keyGeneration())) {
      // Retired, never handed a task: its environment may hold a key named since it started.
      if (runner.alive) runner.stop();
    }
    this.fill();
    return runner;
  }

  /** More tasks are waiting to start: warm up as many. */
  demandChanged(): void {
    if (this.idle.length < this.target()) this.fill();
  }

  get size(): number {
    return this.idle.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retireTimer);
    await this.retire();
  }

  private target(): number {
    return Math.min(this.max, this.waiting() + 1);
  }

  /** Standbys belong to no run, whichever run's task made room for them. */
  private fill(): void {
    while (!this.closed && this.idle.length < this.target()) {
      const runner = outsideAnyRun(() => new RunnerProcess({ workspace: this.workspace, memoryMb: this.memoryMb }));
      this.bornUnder.set(runner, keyGeneration());
      this.idle.push(runner);
    }
    // Retired when none has been taken for a while: the clock restarts with each fill.
    clearTimeout(this.retireTimer);
    if (this.idle.length > 0 && !this.closed) this.retireTimer = setTimeout(() => void this.retire(), IDLE_MS).unref();
  }

  private async retire(): Promise<void> {
    const idle = this.idle.splice(0);
    for (const runner of idle) runner.stop();
    await Promise.all(idle.map((runner) => runner.ended));
  }
}
