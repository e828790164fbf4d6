import { Socket } from 'node:net';
import type { ManagerMessage, RunnerMessage } from '../formats/ipc.js';
import { encodeMessage, MessageLineReader } from '../util/message-lines.js';

/** The channel's file descriptor in the runner: a pipe the manager created, one JSON message per line. */
const CHANNEL_FD = 3;

/**
 * The runner's end of its channel to the manager. The manager trusts nothing that comes over it,
 * so this end needs no schema (the runner does not load zod). When the manager goes away — it
 * exited or was killed — the channel closes and `onManagerGone` runs.
 */
export class ManagerChannel {
  private readonly socket: Socket | undefined;
  private readonly handlers: Array<(message: ManagerMessage) => void> = [];

  constructor(onManagerGone: () => void) {
    try {
      this.socket = new Socket({ fd: CHANNEL_FD, readable: true, writable: true });
    } catch {
      // Started by hand, without a manager: nothing to report to.
      this.socket = undefined;
      return;
    }
    const reader = new MessageLineReader(
      (value) => {
        for (const handler of this.handlers) handler(value as ManagerMessage);
      },
      () => onManagerGone(),
    );
    this.socket.on('data', (chunk: Buffer) => reader.push(chunk));
    this.socket.once('end', onManagerGone);
    this.socket.once('close', onManagerGone);
    this.socket.on('error', onManagerGone);
  }

  onMessage(handler: (message: ManagerMessage) => void): void {
    this.handlers.push(handler);
  }

  /** Resolves once the message is handed to the pipe (or at once when there is no manager). */
  send(message: RunnerMessage): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed || !socket.writable) return Promise.resolve();
    return new Promise((done) => {
      socket.write(encodeMessage(message), () => done());
    });
  }

  /** The next message of this type. */
  next<T extends ManagerMessage['type']>(type: T): Promise<Extract<ManagerMessage, { type: T }>> {
    return new Promise((resolve) => {
      const handler = (message: ManagerMessage) => {
        if (message.type !== type) return;
        this.handlers.splice(this.handlers.indexOf(handler), 1);
        resolve(message as Extract<ManagerMessage, { type: T }>);
      };
      this.handlers.push(handler);
    });
  }
}
