import { readdir } from 'node:fs/promises';
import { exists } from '../../fs/create-new-file.js';
import { join } from 'node:path';
import { editDistance } from '../../util/edit-distance.js';
import type { WorkspacePaths } from '../../workspace.js';

export type FoundRun = { id: string; dir: string; where: 'current' | 'complete' };
export type FindRunError = { reason: 'not-found'; id: string; closest: string[] } | { reason: 'ambiguous'; id: string; matches: string[] };

/**
 * Find a run by its id, or by a unique prefix or part of it, in pipeline-current/ first, then
 * pipeline-complete/. An exact id is found without listing either folder.
 */
export async function findRun(paths: WorkspacePaths, id: string): Promise<{ ok: true; value: FoundRun } | { ok: false; error: FindRunError }> {
  if (id && !id.includes('/') && !id.startsWith('.')) {
    for (const where of ['current', 'complete'] as const) {
      const dir = join(paths[where], id);
      if (await exists(join(dir, 'tasks-status.json'))) return { ok: true, value: { id, dir, where } };
    }
  }
  const all: FoundRun[] = [];
  for (const where of ['current', 'complete'] as const) {
    for (const entry of await readdir(paths[where], { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory() && !entry.name.startsWith('.')) all.push({ id: entry.name, dir: join(paths[where], entry.name), where });
    }
  }
  const matches = all.filter((run) => run.id.includes(id));
  if (matches.length === 1) return { ok: true, value: matches[0]! };
  if (matches.length > 1) return { ok: false, error: { reason: 'ambiguous', id, matches: matches.map((run) => run.id).slice(0, 10) } };
  const closest = all
    .map((run) => ({ id: run.id, distance: editDistance(id, run.id.slice(0, Math.max(id.length, 1) + 2)) }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, 3)
    .map((run) => run.id);
  return { ok: false, error: { reason: 'not-found', id, closest } };
}

export function describeFindError(error: FindRunError): string {
  if (error.reason === 'ambiguous') return `"${error.id}" matches several runs: ${error.matches.join(', ')}; give more of the id`;
  return `no run "${error.id}" in pipeline-current/ or pipeline-complete/${error.closest.length ? `; closest: ${error.closest.join(', ')}` : ''}`;
}
