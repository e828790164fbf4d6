import { redactText as redactKnownKeys } from '../secrets/known-secrets.js';
import { Redactor } from '../secrets/redactor.js';
import { isSecretVariable } from '../secrets/secret-variables.js';

/**
 * No secret from the environment reaches a page: every body the server sends passes through
 * POP's own redaction (every secret variable, the workspace's .env, bearer tokens) and through the
 * values of the secret variables of the environment it was given (the same definition).
 */
export function pageRedaction(env: NodeJS.ProcessEnv = process.env): (text: string) => string {
  const named = new Redactor(
    Object.entries(env)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && isSecretVariable(entry[0], entry[1]))
      .map(([name, value]) => ({ name, value: value.trim() })),
  );
  return (text) => {
    const known = redactKnownKeys(text);
    return named.empty ? known : named.redact(known).text;
  };
}
