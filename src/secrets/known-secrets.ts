/**
 * The keys this process knows of, and the redaction every writer applies: artifacts, output.json,
 * state files, task.log, run.log, the manager's log and what the CLI prints. The manager and each
 * task process hold their own copy, built from what they see; the function they call is the same.
 *
 * Taken as keys (values of at least MIN_SECRET_LENGTH characters), from the environment and from
 * the workspace's .env file: the values of every secret variable (src/secrets/secret-variables.ts),
 * and of a `Bearer …` value the token after it.
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { Redactor, type Redaction, type Secret } from './redactor.js';
import { BEARER, isSecretVariable, onKeyVariablesLearnt } from './secret-variables.js';

export { learnKeyVariables } from './secret-variables.js';

const envFiles = new Map<string, Record<string, string | undefined>>();
const remembered: Secret[] = [];
let current: Redactor | undefined;

onKeyVariablesLearnt(() => (current = undefined));

/**
 * A workspace's .env file: its keys count even where the environment sets the variable too. Called
 * after the file was loaded into the environment, which is then looked at again as well.
 */
export function learnEnvFile(path: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return; // no .env: nothing to learn
  }
  envFiles.set(path, parseEnv(text));
  current = undefined;
}

/** A key a provider was handed directly. */
export function rememberSecret(name: string, value: string | undefined): void {
  if (!value || remembered.some((secret) => secret.value === value)) return;
  remembered.push({ name, value });
  current = undefined;
}

function redactor(): Redactor {
  current ??= new Redactor([...secretsIn(process.env), ...[...envFiles.values()].flatMap((file) => [...secretsIn(file)]), ...remembered]);
  return current;
}

function* secretsIn(variables: Record<string, string | undefined>): Generator<Secret> {
  for (const [name, raw] of Object.entries(variables)) {
    const value = raw?.trim();
    if (!value) continue;
    const bearer = BEARER.exec(value)?.[1];
    if (bearer) yield { name, value: bearer };
    else if (isSecretVariable(name, value)) yield { name, value };
  }
}

/** Whether this process knows any key at all: when it knows none, there is nothing to look for. */
export function knowsSecrets(): boolean {
  return redactor().size > 0;
}

/** `text` with every known key, and every long enough piece of one, replaced by a marker. */
export function redact(text: string): Redaction {
  return redactor().redact(text);
}

export function redactText(text: string): string {
  return redactor().redact(text).text;
}

/** JSON text of `value` with every key taken out of its strings; `names` says whose. */
export function stringifyRedacted(value: unknown, space?: number): { text: string; names: string[] } {
  const names = new Set<string>();
  const text = redactor().stringify(value, space, names);
  return { text, names: [...names] };
}
