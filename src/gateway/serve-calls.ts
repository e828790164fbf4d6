import type { CallRequest, ManagerMessage, RunnerMessage } from '../formats/ipc.js';
import { appendCall } from '../ledger/ledger-file.js';
import { stringifyRedacted } from '../secrets/known-secrets.js';
import { remoteLogger } from './call-log.js';
import type { CallSettings, Gateway } from './gateway.js';

type CallMessage = Extract<RunnerMessage, { type: 'call' | 'call-abort' | 'call-verdict' }>;

export const isCallMessage = (message: RunnerMessage): message is CallMessage =>
  message.type === 'call' || message.type === 'call-abort' || message.type === 'call-verdict';

/** Bounds on one task attempt's calls. */
export interface CallBounds {
  /** Calls in flight at once; more wait their turn here. */
  inFlight: number;
  /** Calls in all; more are refused with `max-calls`. */
  total: number;
}

const DEFAULT_BOUNDS: CallBounds = { inFlight: 4, total: 10_000 };

/** Answers waiting for the task's verdict before they may go into the call cache: at most this many. */
const MAX_UNJUDGED = 10_000;

/**
 * The gateway's side of one task process's channel: it makes the calls the task asks for, at most
 * `bounds.inFlight` at once and `bounds.total` in all, and sends back their log lines and answers,
 * every string in them redacted. An answer goes into the call cache only when the task says it
 * passed validation. `close` (the process ended) aborts the calls still in flight and waiting,
 * so their servers see the connections close.
 */
export function serveCalls(
  gateway: Gateway,
  settings: CallSettings,
  send: (message: ManagerMessage) => void,
): { handle: (message: CallMessage) => void; close: () => void; parked: () => number } {
  const bounds: CallBounds = settings.bounds ?? DEFAULT_BOUNDS;
  const inFlight = new Map<number, AbortController>();
  const queued: CallRequest[] = [];
  const unjudged = new Map<number, () => Promise<unknown>>();
  let started = 0;
  let closed = false;
  /** The batch requests this attempt's parked calls wait on. */
  const parked = new Set<string>();
  // Whatever a server put in a reply, a model name or an error message included, reaches the task without a key.
  const sendRedacted = (message: ManagerMessage) => {
    if (!closed) send(JSON.parse(stringifyRedacted(message).text) as ManagerMessage);
  };

  const start = (request: CallRequest) => {
    const abort = new AbortController();
    inFlight.set(request.id, abort);
    const log = remoteLogger((level, fields, msg) => sendRedacted({ type: 'call-log', id: request.id, level, fields, ...(msg === undefined ? {} : { msg }) }));
    void gateway
      .call(request, settings, abort.signal, log)
      .then(({ result, store, parked: waiting }) => {
        if (store && !closed && unjudged.size < MAX_UNJUDGED) unjudged.set(request.id, store);
        if (waiting) {
          parked.add(waiting.id);
          sendRedacted({ type: 'call-parked', id: request.id, provider: waiting.provider });
        } else if (result.ok) sendRedacted({ type: 'call-reply', id: request.id, ...result.value });
        else sendRedacted({ type: 'call-error', id: request.id, failures: result.error });
      })
      .finally(() => {
        inFlight.delete(request.id);
        const next = queued.shift();
        if (next && !closed) start(next);
      });
  };

  const refuse = (request: CallRequest) => {
    const spec = request.models[0] ?? '';
    const [provider = 'gateway', model = ''] = spec.split(/:(.*)/s);
    const message = `the task attempt has made ${bounds.total} model calls, as many as its maxCalls allows`;
    const ledger = settings.ledger;
    const recorded = ledger
      ? appendCall(ledger, {
          ...(request.item === undefined ? {} : { item: request.item }),
          call: request.call,
          modelAsked: spec,
          model: spec,
          usage: { inputTokens: 0, outputTokens: 0 },
          latencyMs: 0,
          outcome: 'failed',
          reason: 'max-calls',
          message,
        }).catch(() => {})
      : Promise.resolve();
    void recorded.then(() => sendRedacted({ type: 'call-error', id: request.id, failures: [{ reason: 'max-calls', provider, model, message }] }));
  };

  return {
    handle: (message) => {
      if (message.type === 'call') {
        if (inFlight.has(message.id) || queued.some((waiting) => waiting.id === message.id)) return;
        if (++started > bounds.total) return refuse(message);
        if (inFlight.size < bounds.inFlight) start(message);
        else queued.push(message);
      } else if (message.type === 'call-abort') {
        const index = queued.findIndex((waiting) => waiting.id === message.id);
        if (index >= 0) queued.splice(index, 1);
        inFlight.get(message.id)?.abort(new Error('the task stopped waiting for this call'));
      } else {
        for (const id of message.ids) {
          const store = unjudged.get(id);
          unjudged.delete(id);
          if (store && message.ok) void store();
        }
      }
    },
    parked: () => parked.size,
    close: () => {
      closed = true;
      queued.length = 0;
      unjudged.clear();
      for (const abort of inFlight.values()) abort.abort(new Error('the task process ended'));
      inFlight.clear();
    },
  };
}
