import type { CallError, CallParked, CallReply, CallRequest, ManagerMessage, RunnerMessage } from '../formats/ipc.js';
import { modelSpecParts } from '../formats/model-spec.js';
import type { TaskLogger } from './task-log.js';

/** The runner's channel to the manager, as far as model calls need it. */
export interface CallChannel {
  send(message: RunnerMessage): Promise<void>;
  onMessage(handler: (message: ManagerMessage) => void): void;
}

let channel: CallChannel | undefined;

/** Model calls go over this channel; messages about them coming back are taken from it. */
export function connectGateway(managerChannel: CallChannel): void {
  channel = managerChannel;
  channel.onMessage(receive);
}

function sendToManager(message: RunnerMessage): void {
  void channel?.send(message);
}

interface Waiting {
  log: TaskLogger;
  done: (answer: CallReply | CallError | CallParked) => void;
}

/** How long a stopped task waits for the gateway to confirm an aborted call. */
const ABORT_ANSWER_WAIT_MS = 500;

const waiting = new Map<number, Waiting>();
let nextId = 0;

/** Messages from the manager's gateway: log lines of a call for task.log, then its answer. */
function receive(message: ManagerMessage): void {
  if (message.type === 'run' || message.type === 'heartbeat') return;
  const call = waiting.get(message.id);
  if (!call) return;
  if (message.type === 'call-log') {
    call.log[message.level](message.fields, message.msg);
    return;
  }
  waiting.delete(message.id);
  call.done(message);
}

/**
 * Ask the manager's gateway to make a model call and wait for its answer. The lines it logs
 * about the call (model-call, model-retry, model-replied ...) go to `log`. A stopped task stops
 * waiting at once and tells the gateway, which aborts the request.
 */
export function requestCall(request: Omit<CallRequest, 'type' | 'id'>, signal: AbortSignal, log: TaskLogger): Promise<CallReply | CallError | CallParked> {
  return requestCallWithId(request, signal, log).then(({ answer }) => answer);
}

/** As requestCall, also saying the call's id on the channel (what a verdict names). */
export function requestCallWithId(
  request: Omit<CallRequest, 'type' | 'id'>,
  signal: AbortSignal,
  log: TaskLogger,
): Promise<{ id: number; answer: CallReply | CallError | CallParked }> {
  const id = ++nextId;
  return new Promise((resolve) => {
    void sendAndWait(id, request, signal, log).then((answer) => resolve({ id, answer }));
  });
}

function sendAndWait(id: number, request: Omit<CallRequest, 'type' | 'id'>, signal: AbortSignal, log: TaskLogger): Promise<CallReply | CallError | CallParked> {
  return new Promise((resolve) => {
    // The gateway answers an aborted call at once, with its log lines; should it not, the task
    // stops waiting anyway.
    const stopped = () => {
      sendToManager({ type: 'call-abort', id });
      setTimeout(() => {
        if (!waiting.delete(id)) return;
        const failures = request.models
          .slice(0, 1)
          .map((spec) => ({ ...modelSpecParts(spec), reason: 'aborted', message: 'the call was aborted because the task was stopped' }));
        log.warn({ event: 'model-failed', model: request.models[0], call: request.call, reason: 'aborted' }, 'model failed');
        resolve({ type: 'call-error', id, failures });
      }, ABORT_ANSWER_WAIT_MS).unref();
    };
    waiting.set(id, {
      log,
      done: (answer) => {
        signal.removeEventListener('abort', stopped);
        resolve(answer);
      },
    });
    signal.addEventListener('abort', stopped, { once: true });
    sendToManager({ type: 'call', id, ...request });
  });
}

/**
 * Tell the gateway what became of answers: `ok` ones passed validation (or belong to an output the
 * task wrote) and may be kept in the call cache; the others were rejected and never will be.
 */
export function sendVerdict(ids: number[], ok: boolean): void {
  if (ids.length) sendToManager({ type: 'call-verdict', ids, ok });
}
