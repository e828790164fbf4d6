import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive, spawnRunner, type RunnerProcess } from './runner-process.js';

/**
 * Warm standby runner children, one per concurrency slot: each has already started Node and loaded
 * the runner, and waits for a letter. Handing one a task takes a message instead of a process
 * start; a replacement starts at once, while the task runs. Every task still gets a fresh process.
 * Only tasks with the pipeline's default heap limit use them (the limit is set at start).
 */
export class StandbyPool {
  private readonly idle: RunnerProcess[] = [];
  private closed = false;
  private counter = 0;

  constructor(
    private readonly workspace: string,
    private readonly memoryMb: number,
    private readonly size: number,
    /** Where a standby's output goes until it has a task (pipeline-current/.standby/). */
    private readonly dir: string,
  ) {}

  async start(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
    this.fill();
  }

  /** A live standby for a task with this heap limit, or undefined (then spawn one for it). */
  take(memoryMb: number): RunnerProcess | undefined {
    if (this.closed || memoryMb !== this.memoryMb) return undefined;
    let runner: RunnerProcess | undefined;
    while ((runner = this.idle.shift()) && !isAlive(runner));
    this.fill();
    return runner;
  }

  async close(): Promise<void> {
    this.closed = true;
    const idle = this.idle.splice(0);
    for (const runner of idle) runner.stop.abort();
    await Promise.all(idle.map((runner) => runner.subprocess));
    await rm(this.dir, { recursive: true, force: true });
  }

  private fill(): void {
    while (!this.closed && this.idle.length < this.size) {
      this.idle.push(spawnRunner({ workspace: this.workspace, memoryMb: this.memoryMb, outputPath: join(this.dir, `${process.pid}-${++this.counter}.log`) }));
    }
  }
}
