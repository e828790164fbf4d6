import { Gateway } from './gateway.js';

let gateway: Gateway | undefined;

/**
 * The process's one gateway, made on first use: the manager's (or a `resume` run in the
 * foreground's). Its keys are this process's environment, .env already loaded into it.
 */
export function processGateway(): Gateway {
  gateway ??= new Gateway(process.env);
  return gateway;
}
