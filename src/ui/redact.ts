import { redactText as redactKnownKeys } from '../secrets/known-secrets.js';
import { Redactor } from '../secrets/redactor.js';

/**
 * No secret from the environment reaches a page: every body the server sends passes through
 * POP's own redaction (provider keys, `*_API_KEY`, `sk-…` values, bearer tokens, the workspace's
 * .env and the `apiKeyEnv` of the pipelines read) and, since a page shows whatever a task printed,
 * through the values of every other variable whose name says it holds a credential.
 */
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION)/i;

export function pageRedaction(env: NodeJS.ProcessEnv = process.env): (text: string) => string {
  const named = new Redactor(
    Object.entries(env)
      .filter((entry): entry is [string, string] => SECRET_NAME.test(entry[0]) && typeof entry[1] === 'string')
      .map(([name, value]) => ({ name, value: value.trim() })),
  );
  return (text) => {
    const known = redactKnownKeys(text);
    return named.empty ? known : named.redact(known).text;
  };
}
