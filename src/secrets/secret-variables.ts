/**
 * The one definition of a variable that holds a secret. Environment stripping (task processes never
 * get one), redaction (no value of one is written anywhere) and the web view all ask `isSecretVariable`.
 *
 * A variable is a secret when:
 * - providers read keys from it: OPENAI_API_KEY, ANTHROPIC_API_KEY and every `apiKeyEnv` of a
 *   pipeline this process has loaded;
 * - its name says it holds a credential (KEY, TOKEN, SECRET, PASSWORD, PASSWD, CREDENTIAL, AUTH,
 *   COOKIE, SESSION anywhere in it, any case);
 * - its value has the shape of a provider key (`sk-…`) or of a credential header (`Bearer …`).
 */
const keyVariables = new Set(['OPENAI_API_KEY', 'ANTHROPIC_API_KEY']);
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION)/i;
const KEY_SHAPE = /^sk-[\w-]{16,}$/;
export const BEARER = /^Bearer\s+(\S+)$/i;

let generation = 0;
const listeners: Array<() => void> = [];

export function isSecretVariable(name: string, value: string | undefined): boolean {
  if (keyVariables.has(name) || SECRET_NAME.test(name)) return true;
  const trimmed = value?.trim() ?? '';
  return KEY_SHAPE.test(trimmed) || BEARER.test(trimmed);
}

/**
 * The `apiKeyEnv` of each provider of a pipeline (as parsed, or as read from a snapshot). A name new
 * to this process that is set here starts a new generation: a process started before with that
 * variable in its environment must not be handed a task (see StandbyPool).
 */
export function learnKeyVariables(providers: Record<string, { apiKeyEnv?: string | undefined }> | undefined): void {
  let changed = false;
  for (const provider of Object.values(providers ?? {})) {
    const name = provider?.apiKeyEnv;
    if (typeof name !== 'string' || keyVariables.has(name)) continue;
    const wasSecret = isSecretVariable(name, process.env[name]);
    keyVariables.add(name);
    changed = true;
    if (!wasSecret && process.env[name] !== undefined) generation++;
  }
  if (changed) for (const listener of listeners) listener();
}

/** Which key variables this process has seen named so far: a process started under an older one may hold a key. */
export const keyGeneration = (): number => generation;

/** Told whenever a key variable is learnt (the redactor is rebuilt). */
export function onKeyVariablesLearnt(listener: () => void): void {
  listeners.push(listener);
}
