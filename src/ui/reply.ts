import type { ServerResponse } from 'node:http';
import { SECURITY_HEADERS } from './guard.js';

/** Sends a response with the security headers, every body passed through the secrets filter. */
export class Replier {
  constructor(private readonly redact: (text: string) => string) {}

  send(response: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
    const bytes = Buffer.from(this.redact(body), 'utf8');
    response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': contentType, 'content-length': String(bytes.length), ...headers });
    response.end(bytes);
  }

  html(response: ServerResponse, status: number, body: string): void {
    this.send(response, status, 'text/html; charset=utf-8', body);
  }

  /** Strings are redacted before JSON escapes them (a key holding `"` or `\\` would no longer match once escaped). */
  json(response: ServerResponse, status: number, value: unknown): void {
    this.send(
      response,
      status,
      'application/json; charset=utf-8',
      `${JSON.stringify(value, (_key, field: unknown) => (typeof field === 'string' ? this.redact(field) : field), 2)}\n`,
    );
  }

  /** A run's file, as plain text in a sandbox: never rendered as a page of this origin. */
  file(response: ServerResponse, body: string): void {
    this.send(response, 200, 'text/plain; charset=utf-8', body, { 'content-security-policy': "sandbox; default-src 'none'" });
  }

  problem(response: ServerResponse, status: number, message: string): void {
    this.send(response, status, 'text/plain; charset=utf-8', `${message}\n`);
  }
}
