import type { CallRequest, ManagerMessage, RunnerMessage } from '../formats/ipc.js';
import { remoteLogger } from './call-log.js';
import type { CallSettings, Gateway } from './gateway.js';

type CallMessage = Extract<RunnerMessage, { type: 'call' | 'call-abort' }>;

export const isCallMessage = (message: RunnerMessage): message is CallMessage => message.type === 'call' || message.type === 'call-abort';

/**
 * The gateway's side of one task process's channel: it makes the calls the task asks for and sends
 * back their log lines and answers. `close` (the process ended) aborts the calls still in flight,
 * so their servers see the connections close.
 */
export function serveCalls(gateway: Gateway, settings: CallSettings, send: (message: ManagerMessage) => void): { handle: (message: CallMessage) => void; close: () => void } {
  const inFlight = new Map<number, AbortController>();

  const start = (request: CallRequest) => {
    if (inFlight.has(request.id)) return;
    const abort = new AbortController();
    inFlight.set(request.id, abort);
    const log = remoteLogger((level, fields, msg) => send({ type: 'call-log', id: request.id, level, fields, ...(msg === undefined ? {} : { msg }) }));
    void gateway
      .call(request, settings, abort.signal, log)
      .then((answer) => {
        if (answer.ok) send({ type: 'call-reply', id: request.id, ...answer.value });
        else send({ type: 'call-error', id: request.id, failures: answer.error });
      })
      .finally(() => inFlight.delete(request.id));
  };

  return {
    handle: (message) => {
      if (message.type === 'call') start(message);
      else inFlight.get(message.id)?.abort(new Error('the task stopped waiting for this call'));
    },
    close: () => {
      for (const abort of inFlight.values()) abort.abort(new Error('the task process ended'));
      inFlight.clear();
    },
  };
}
