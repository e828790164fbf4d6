import { open, type FileHandle } from 'node:fs/promises';
import { Writable, type Readable } from 'node:stream';

/** console.log keeps this much of the start of what a task prints ... */
export const CONSOLE_HEAD_BYTES = 5 * 1024 * 1024;
/** ... and this much of its end, with a marker between them saying how much was left out. */
export const CONSOLE_TAIL_BYTES = 5 * 1024 * 1024;
/** The end of stderr that goes into a failure as `stderrTail` (where a crash's stack is). */
const ERROR_TAIL_CHARS = 2000;
const RECENT_BYTES = 4 * ERROR_TAIL_CHARS;

/**
 * Where a runner's stdout and stderr go: streamed into the task's console.log as they come, the
 * first 5 MB straight to the file, the rest through a 5 MB window in memory that is written after
 * a marker when the output ends. So however much a task prints, the manager holds at most the
 * window, and the file at most 10 MB per attempt. The file is named when the task is known: a
 * standby's output waits until it is handed a task.
 */
export class ConsoleCapture extends Writable {
  private file: FileHandle | undefined;
  private target: Promise<string | undefined>;
  private setTarget: (path: string | undefined) => void = () => {};
  private headLeft = CONSOLE_HEAD_BYTES;
  private window: Buffer[] = [];
  private windowBytes = 0;
  private leftOut = 0;
  private recent = Buffer.alloc(0);
  private unwritable = false;

  constructor(path?: string) {
    super({ decodeStrings: true });
    this.target = new Promise((resolve) => (this.setTarget = resolve));
    if (path !== undefined) this.setTarget(path);
  }

  /** The file this output belongs to (a standby's, once it has a task). */
  attach(path: string): void {
    this.setTarget(path);
  }

  /** The runner ended without a task: what it printed is dropped. */
  discard(): void {
    this.setTarget(undefined);
  }

  /**
   * The end of stderr so far, for an error message: stdout chatter does not push a stack trace out
   * of it. `clean` (redaction) sees more than is kept, so it runs before the cut.
   */
  stderrTail(clean: (text: string) => string = (text) => text): string {
    return clean(this.recent.toString('utf8')).slice(-ERROR_TAIL_CHARS).trim();
  }

  /** Pipe the runner's stdout and stderr in, in the order their chunks arrive. */
  capture(stdout: Readable | null, stderr: Readable | null): void {
    // A pipe torn down with its process is not the manager's error: the exit tells what happened.
    for (const stream of [stdout, stderr]) stream?.on('error', () => {});
    stdout?.pipe(this, { end: false });
    stderr?.on('data', (chunk: Buffer) => this.keepRecent(chunk));
    stderr?.pipe(this, { end: false });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    void this.take(chunk).then(
      () => done(),
      (error: unknown) => done(error as Error),
    );
  }

  override _final(done: (error?: Error | null) => void): void {
    void this.finish().then(
      () => done(),
      (error: unknown) => done(error as Error),
    );
  }

  private async take(chunk: Buffer): Promise<void> {
    if (this.headLeft > 0) {
      const head = chunk.subarray(0, this.headLeft);
      this.headLeft -= head.length;
      await this.writeFile(head);
      chunk = chunk.subarray(head.length);
    }
    if (chunk.length === 0) return;
    this.window.push(chunk);
    this.windowBytes += chunk.length;
    while (this.window.length > 1 && this.windowBytes - (this.window[0] as Buffer).length >= CONSOLE_TAIL_BYTES) {
      const dropped = this.window.shift() as Buffer;
      this.windowBytes -= dropped.length;
      this.leftOut += dropped.length;
    }
  }

  private async finish(): Promise<void> {
    const excess = Math.max(0, this.windowBytes - CONSOLE_TAIL_BYTES);
    if (excess > 0 && this.window[0]) {
      this.window[0] = this.window[0].subarray(excess);
      this.leftOut += excess;
    }
    if (this.leftOut > 0) {
      await this.writeFile(Buffer.from(`\n[POP: ${this.leftOut} bytes of output left out here; console.log keeps the first and last 5 MB]\n`));
    }
    for (const piece of this.window) await this.writeFile(piece);
    this.window = [];
    // console.log exists for every attempt, empty when the task printed nothing.
    await this.writeFile(Buffer.alloc(0), { create: true });
    await this.file?.close().catch(() => {});
    this.file = undefined;
  }

  /** A file that cannot be written (its folder removed, disk full) drops output rather than stall the task on a full pipe. */
  private async writeFile(bytes: Buffer, options: { create?: boolean } = {}): Promise<void> {
    if ((bytes.length === 0 && !options.create) || this.unwritable) return;
    try {
      if (!this.file) {
        const path = await this.target;
        if (path === undefined) return;
        this.file = await open(path, 'a');
      }
      if (bytes.length > 0) await this.file.write(bytes);
    } catch {
      this.unwritable = true;
    }
  }

  private keepRecent(chunk: Buffer): void {
    const joined = Buffer.concat([this.recent, chunk.subarray(-RECENT_BYTES)]);
    this.recent = joined.subarray(-RECENT_BYTES);
  }
}
