/**
 * A module resolution hook (node:module `register`), run on Node's hooks thread: resolves the bare
 * specifier `pop` to the POP that is running, so task modules load in a workspace that has no
 * `node_modules` of its own.
 */
let target = '';

export function initialize(data: { target: string }): void {
  target = data.target;
}

type Next = (specifier: string, context: unknown) => unknown;

export function resolve(specifier: string, context: unknown, next: Next): unknown {
  if (specifier === 'pop') return { url: target, format: 'module', shortCircuit: true };
  return next(specifier, context);
}
