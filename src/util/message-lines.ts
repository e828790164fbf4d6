import { MAX_JSON_DEPTH, tooDeepAt } from '../formats/json-depth.js';

/**
 * The framing of the channel between the manager and a runner: one JSON value per line. Both ends
 * parse what they read themselves, so nothing a task writes onto the channel reaches Node's own
 * IPC machinery, and no message is held whole beyond the size limit.
 */

/**
 * The largest message either side accepts, newline excluded. A model call carries its prompt, which
 * may hold a whole seed (up to 10 MB) and earlier tasks' outputs, so the bound leaves room for both.
 */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

const NEWLINE = 0x0a;

export type LineProblem = { kind: 'not-json'; message: string } | { kind: 'too-large'; message: string } | { kind: 'too-deep'; message: string };

/**
 * Splits a byte stream into lines and parses each as JSON. A line that is not JSON, that grows
 * past `maxBytes` before its newline arrives, or that nests deeper than a seed may (checked before
 * parsing: JSON.parse of a value nested millions deep holds the event loop for seconds), is
 * reported once; everything after it is ignored.
 */
export class MessageLineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private failed = false;

  constructor(
    private readonly onValue: (value: unknown) => void,
    private readonly onProblem: (problem: LineProblem) => void,
    private readonly maxBytes = MAX_MESSAGE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (!this.failed) {
      const end = chunk.indexOf(NEWLINE, start);
      const piece = chunk.subarray(start, end === -1 ? chunk.length : end);
      if (this.pendingBytes + piece.length > this.maxBytes) {
        this.fail({ kind: 'too-large', message: `a message on the channel was larger than ${this.maxBytes} bytes` });
        return;
      }
      if (end === -1) {
        if (piece.length > 0) this.pending.push(piece);
        this.pendingBytes += piece.length;
        return;
      }
      const line = this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece]);
      this.pending = [];
      this.pendingBytes = 0;
      start = end + 1;
      if (line.length > 0) this.parse(line);
    }
  }

  private parse(line: Buffer): void {
    if (tooDeepAt(line, MAX_JSON_DEPTH)) {
      this.fail({ kind: 'too-deep', message: `a message on the channel nested deeper than ${MAX_JSON_DEPTH} levels` });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(line.toString('utf8'));
    } catch {
      const preview = line
        .subarray(0, 60)
        .toString('utf8')
        .replace(/[^\x20-\x7e]/g, '?');
      this.fail({ kind: 'not-json', message: `the channel carried a line that is not JSON: "${preview}${line.length > 60 ? '…' : ''}"` });
      return;
    }
    this.onValue(value);
  }

  private fail(problem: LineProblem): void {
    this.failed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.onProblem(problem);
  }
}

/** One message as it goes on the wire. */
export const encodeMessage = (message: unknown): string => `${JSON.stringify(message)}\n`;
