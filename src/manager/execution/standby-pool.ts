import { RunnerProcess } from './runner-process.js';
import { outsideAnyRun } from '../last-resort.js';
import { keyGeneration } from '../../secrets/secret-variables.js';

/**
 * Warm standby runner children, one per concurrency slot: each has already started Node and loaded
 * the runner, and waits for a letter. Handing one a task takes a message instead of a process
 * start; a replacement starts at once, while the task runs. Every task still gets a fresh process.
 * Only tasks with the pipeline's default heap limit use them (the limit is set at start). What a
 * standby prints before it has a task goes to that task's console.log.
 */
export class StandbyPool {
  private readonly idle: RunnerProcess[] = [];
  /** The key variables known when each standby started: one started before a key variable was named may have it in its environment. */
  private readonly bornUnder = new WeakMap<RunnerProcess, number>();
  private closed = false;

  constructor(
    private readonly workspace: string,
    private readonly memoryMb: number,
    private readonly size: number,
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

  async close(): Promise<void> {
    this.closed = true;
    const idle = this.idle.splice(0);
    for (const runner of idle) runner.stop();
    await Promise.all(idle.map((runner) => runner.ended));
  }

  /** Standbys belong to no run, whichever run's task made room for them. */
  private fill(): void {
    while (!this.closed && this.idle.length < this.size) {
      const runner = outsideAnyRun(() => new RunnerProcess({ workspace: this.workspace, memoryMb: this.memoryMb }));
      this.bornUnder.set(runner, keyGeneration());
      this.idle.push(runner);
    }
  }
}
