import { customAlphabet } from 'nanoid';

const suffix = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 6);

/** The seed's file name as a safe, readable id part: `Q3 Report (draft).json` → `q3-report-draft`. */
export function seedSlug(fileName: string): string {
  const slug = fileName
    .replace(/\.json$/i, '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug || 'seed';
}

/** `20261124-223105-<seed>-<6 chars>`: sorts by start time (UTC), says which seed, never collides. */
export function newRunId(seedFile: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${seedSlug(seedFile)}-${suffix()}`;
}
