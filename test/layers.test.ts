/**
 * The folders of src/ are layers: formats, util, fs, secrets, ledger, gateway and batch are what the
 * runner, the manager, the queue, the CLI and the view are built on, and never reach up into them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/workspace.js';

const LOWER = ['formats', 'util', 'fs', 'secrets', 'ledger', 'gateway', 'batch'];
const UPPER = ['runner', 'manager', 'queue', 'cli', 'ui', 'registry', 'bench'];

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+)'/g)].map((match) => match[1] as string);
}

describe('the layers of src/', () => {
  it('formats, util, fs, secrets, ledger, gateway and batch import nothing from the layers built on them', () => {
    const upward: string[] = [];
    for (const layer of LOWER) {
      const dir = join(REPO_ROOT, 'src', layer);
      for (const name of readdirSync(dir, { recursive: true }) as string[]) {
        if (!name.endsWith('.ts')) continue;
        for (const target of importsOf(join(dir, name))) {
          const top = target.split('/').find((part) => part !== '..' && part !== '.');
          if (target.startsWith('../') && top && UPPER.includes(top)) upward.push(`src/${layer}/${name} imports ${target}`);
        }
      }
    }
    expect(upward).toEqual([]);
  });
});
