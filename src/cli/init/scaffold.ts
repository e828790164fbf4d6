import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { schemaFileText } from '../write-schemas.js';
import { packageRoot } from '../../package-root.js';

export type Template = 'example' | 'minimal';

/** POP's package folder (the one holding dist/ and templates/). */
export const PACKAGE_ROOT = packageRoot(import.meta.url);

/** Where a workspace keeps its copy of pipeline.json's JSON Schema (named by `$schema`). */
export const SCHEMA_PATH = '.pop/pipeline.schema.json';

const GITIGNORE = `# POP's runs live in these folders: keep them out of git.
pipeline-pending/
pipeline-current/
pipeline-complete/
# API keys.
.env
# Stored model replies of tasks with cache: true (the rest of .pop/ belongs in git).
.pop/cache/
node_modules/
*.tgz
`;

/**
 * Types for the editor only: every task's seed (\`({ seed }) =>\`, \`ctx.seed\`) gets the type the
 * registry's seedSchema gives it. Written when the registry exports a seedSchema.
 */
const SEED_TYPES = `// For the editor only: every task's seed has the type the registry's seedSchema gives it.
// (Remove this file if pipeline-tasks/index.js stops exporting a seedSchema.)
import type { z } from 'pop';
import type { seedSchema } from './index.js';

declare module 'pop' {
  interface Register {
    seed: z.output<typeof seedSchema>;
  }
}
`;

/**
 * What the editor needs to type-check task files against POP's types: \`pop\` maps to the types
 * of the POP that wrote this file (an absolute path: run \`pop init\` again elsewhere, or edit it,
 * after moving POP).
 */
function jsconfig(): string {
  const types = join(PACKAGE_ROOT, 'dist', 'index.d.ts');
  return `${JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2023',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        checkJs: true,
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        paths: { pop: [types] },
      },
      include: ['pipeline-tasks'],
    },
    null,
    2,
  )}\n`;
}

async function templateFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

/**
 * Every file of a new workspace, by its path relative to the workspace: the template's pipeline,
 * task modules and seeds, plus what every workspace has. `pipeline-tasks/package.json` makes the
 * task modules ES modules whatever a package.json further up says.
 */
export async function scaffoldFiles(template: Template): Promise<Map<string, string>> {
  const dir = join(PACKAGE_ROOT, 'templates', template);
  const files = new Map<string, string>();
  for (const file of (await templateFiles(dir)).sort()) files.set(file, await readFile(join(dir, file), 'utf8'));
  files.set('pipeline-tasks/package.json', `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
  files.set(SCHEMA_PATH, schemaFileText('pipeline.schema.json'));
  files.set('jsconfig.json', jsconfig());
  if (/^export const seedSchema\b/m.test(files.get('pipeline-tasks/index.js') ?? '')) files.set('pipeline-tasks/pop-types.d.ts', SEED_TYPES);
  files.set('.gitignore', GITIGNORE);
  return files;
}
