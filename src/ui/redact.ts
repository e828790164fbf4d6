/**
 * No secret from the environment reaches a page: every body the server sends passes through this
 * filter, which blanks the value of every variable whose name says it holds a credential.
 */
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION)/i;
/** Shorter values (flags, ports) would blank ordinary words on the pages. */
const MIN_SECRET_LENGTH = 8;

export function environmentSecrets(env: NodeJS.ProcessEnv = process.env, extraNames: string[] = []): string[] {
  const names = new Set(Object.keys(env).filter((name) => SECRET_NAME.test(name)).concat(extraNames));
  const values = [...names].map((name) => env[name]).filter((value): value is string => typeof value === 'string' && value.length >= MIN_SECRET_LENGTH);
  // Longest first, so a secret that contains another is blanked whole.
  return [...new Set(values)].sort((a, b) => b.length - a.length);
}

export function redactText(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) if (clean.includes(secret)) clean = clean.split(secret).join('[redacted]');
  return clean;
}
