import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskEntryObjectSchema } from '../src/formats/pipeline.js';
import { SeedRejectionReasonSchema } from '../src/formats/seed-rejection.js';
import { REPO_ROOT } from './support/workspace.js';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const pages = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The lines of a Markdown page outside its fenced code blocks. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && !line.startsWith('```');
  });
}

/** The anchors GitHub gives a page's headings. */
function anchors(text: string): Set<string> {
  const headings = prose(text).filter((line) => /^#{1,6} /.test(line));
  return new Set(
    headings.map((line) =>
      line
        .replace(/^#+ /, '')
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}

describe('the README and docs/', () => {
  it('the README is a short read that keeps the two commands of its quick start', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
    expect(readme).toContain('npm install && npm run demo');
    expect(readme).toContain('npm test ');
  });

  it('every relative link of README.md and docs/*.md leads to a file, and every anchor to a heading', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const line of prose(read(page))) {
        for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          if (/^[a-z]+:/.test(target!)) continue;
          const [path, anchor] = target!.split('#');
          const file = path ? join(REPO_ROOT, dirname(page), path) : join(REPO_ROOT, page);
          if (!existsSync(file)) broken.push(`${page}: ${target} (no such file)`);
          else if (anchor && (statSync(file).isDirectory() || !anchors(readFileSync(file, 'utf8')).has(anchor))) {
            broken.push(`${page}: ${target} (no heading ${anchor} in ${relative(REPO_ROOT, file)})`);
          }
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it("docs/architecture.md's source layout names every folder under src/", () => {
    const architecture = read('docs/architecture.md');
    const folders = readdirSync(join(REPO_ROOT, 'src'), { withFileTypes: true }).filter((entry) => entry.isDirectory());
    const missing = folders.map((folder) => `src/${folder.name}/`).filter((folder) => !architecture.includes(`\`${folder}\``));
    expect(missing).toEqual([]);
  });

  it('docs/formats.md names every task setting of pipeline.json and every reason a seed is rejected for', () => {
    const formats = read('docs/formats.md');
    const names = [...Object.keys(TaskEntryObjectSchema.shape), 'limits', ...SeedRejectionReasonSchema.options];
    expect(names.filter((name) => !formats.includes(`\`${name}\``))).toEqual([]);
  });
});
