import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';

/**
 * The cookie a browser gets after opening the printed URL, so links need not carry the token. Named
 * per port: cookies are shared by every port of a host, and two views must not overwrite each other's.
 */
export const tokenCookie = (port: number): string => `pop_ui_token_${port}`;
/** Actions must carry the token in this header: a cookie alone would let another site post them. */
export const TOKEN_HEADER = 'x-pop-token';

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '::1'];
const bracketed = (address: string) => (address.includes(':') ? `[${address}]` : address);

/**
 * The Host values a browser sends for the address served; anything else may be DNS rebinding
 * (a name the attacker controls, pointed at this machine). Served on every interface (0.0.0.0,
 * ::), the machine's own addresses and host name are accepted, never another name.
 */
export function allowedHosts(host: string, port: number): Set<string> {
  const names = new Set([host]);
  if (LOOPBACK_NAMES.includes(host) || host === '0.0.0.0' || host === '::') for (const name of LOOPBACK_NAMES) names.add(name);
  if (host === '0.0.0.0' || host === '::') {
    names.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces())) for (const address of addresses ?? []) names.add(address.address.toLowerCase());
  }
  return new Set([...names].map((name) => `${bracketed(name)}:${port}`));
}

export const hostAllowed = (request: IncomingMessage, allowed: Set<string>) => allowed.has((request.headers.host ?? '').toLowerCase());

const digest = (text: string) => createHash('sha256').update(text).digest();
/** Compared in constant time, so the token cannot be guessed a character at a time. */
export const tokenMatches = (given: string | undefined, token: string) => given !== undefined && timingSafeEqual(digest(given), digest(token));

export function cookieValue(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/**
 * Path segments, decoded one by one. Refused (undefined) when any segment is `.` or `..`, holds a
 * slash, backslash or NUL once decoded (`%2e%2e`, `%2f`), or is not valid percent-encoding.
 */
export function pathSegments(rawPath: string): string[] | undefined {
  const segments: string[] = [];
  for (const raw of rawPath.split('/').slice(1)) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) return undefined;
    segments.push(segment);
  }
  if (segments.at(-1) === '') segments.pop();
  return segments;
}
