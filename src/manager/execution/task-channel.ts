import type { Duplex } from 'node:stream';
import { RunnerMessageSchema, type ManagerMessage, type RunnerMessage } from '../../formats/ipc.js';
import { encodeMessage, MessageLineReader } from '../../util/message-lines.js';

/**
 * The manager's end of a runner's channel: a pipe on the runner's fd 3 carrying one JSON message
 * per line. The manager parses every line itself, so whatever a task writes there can at worst be
 * a protocol violation of that task: never an exception in the manager, never a message held whole
 * past the size limit. Duplex: the manager hands a standby its letter over it.
 */
export class TaskChannel {
  /** Resolves when the runner's end is closed (it exited) or the channel was destroyed. */
  readonly closed: Promise<void>;
  private messageHandler: (message: RunnerMessage) => void = () => {};
  private violationHandler: (problem: string) => void = () => {};
  private violation: string | undefined;

  constructor(private readonly socket: Duplex) {
    const reader = new MessageLineReader(
      (value) => this.receive(value),
      (problem) => this.violate(problem.message),
    );
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    // A runner that died leaves EPIPE/ECONNRESET behind: its exit tells the story, not this.
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  onMessage(handler: (message: RunnerMessage) => void): void {
    this.messageHandler = handler;
  }

  /** Called once, on the first line that is not a message a runner may send. */
  onViolation(handler: (problem: string) => void): void {
    this.violationHandler = handler;
    if (this.violation !== undefined) handler(this.violation);
  }

  send(message: ManagerMessage): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(encodeMessage(message));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(value: unknown): void {
    if (this.violation !== undefined) return;
    const parsed = RunnerMessageSchema.safeParse(value);
    if (!parsed.success) {
      const type = value && typeof value === 'object' && 'type' in value ? JSON.stringify((value as { type: unknown }).type)?.slice(0, 40) : undefined;
      this.violate(`the channel carried a message a runner may not send${type ? ` (type ${type})` : ''}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      return;
    }
    this.messageHandler(parsed.data);
  }

  private violate(problem: string): void {
    if (this.violation !== undefined) return;
    this.violation = problem;
    // The reader drops whatever follows, so the runner (about to be stopped) never blocks on a full pipe.
    this.violationHandler(problem);
  }
}
