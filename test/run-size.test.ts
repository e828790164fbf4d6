/**
 * A run folder holds the seed once: the default ingestion and pre-processing stages write
 * references to the seed and earlier outputs, not copies (a 350 KB seed made a 3.7 MB run).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeWorkspace, readRunRecords, registryModule, runPop } from './support/workspace.js';

// Three text tasks: the first is asked about the whole document, the others about the one before.
const READ = `import { defineTask } from 'pop';
export default defineTask({ prompt: ({ seed }) => \`Summarize: \${seed.document}\` });
`;
// A custom pre-processing stage: its result is written in full.
const SHORTEN = `import { defineTask } from 'pop';
export default defineTask({
  preprocess: ({ inputs }) => ({ text: inputs.read }),
  prompt: ({ text }) => \`Shorten: \${text}\`,
});
`;
const TITLE = `import { defineTask } from 'pop';
export default defineTask({ prompt: ({ inputs }) => \`A title for: \${inputs.shorten}\` });
`;

/** A document of about `bytes` bytes, in sentences the mock can quote. */
function documentOf(bytes: number): string {
  const sentences: string[] = [];
  for (let i = 0; sentences.join(' ').length < bytes; i++)
    sentences.push(`Paragraph ${i} of the report says the measured value rose by ${i % 97} percent over the year.`);
  return sentences.join(' ');
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** Follow a `{ "$ref": "path#/pointer" }` from the file it is in. */
async function resolveRef(from: string, ref: unknown): Promise<unknown> {
  const [path, pointer] = String((ref as { $ref: string }).$ref).split('#');
  let value = JSON.parse(await readFile(join(dirname(from), path!), 'utf8')) as unknown;
  for (const part of (pointer ?? '').split('/').filter(Boolean)) value = (value as Record<string, unknown>)[part];
  return value;
}

describe('the size of a run', () => {
  it('of a 350 KB seed through three tasks stays a few times the seed, and the references lead to the values', async () => {
    const ws = await makeWorkspace({
      'pipeline.json': { name: 'sizes', tasks: ['read', 'shorten', 'title'] },
      'pipeline-tasks/index.js': registryModule(['read', 'shorten', 'title']),
      'pipeline-tasks/read.js': READ,
      'pipeline-tasks/shorten.js': SHORTEN,
      'pipeline-tasks/title.js': TITLE,
      'pipeline-pending/report.json': { document: documentOf(350 * 1024) },
    });
    const result = await runPop(ws, ['start', '--once']);
    expect(result.exitCode, result.stderr).toBe(0);
    const [record] = await readRunRecords(ws);
    const runDir = join(ws.complete, record!.id);
    const seedBytes = (await stat(join(runDir, 'seed.json'))).size;
    expect(seedBytes).toBeGreaterThan(350 * 1024);

    // The seed itself, and the first task's prompt (03-prompt.md and .json) quoting it: 3 times.
    const runBytes = await folderBytes(runDir);
    expect(runBytes / seedBytes).toBeLessThan(3.5);

    const seed = JSON.parse(await readFile(join(runDir, 'seed.json'), 'utf8')) as unknown;
    const readValue = async (task: string) => (JSON.parse(await readFile(join(runDir, 'tasks', task, 'output.json'), 'utf8')) as { value: unknown }).value;
    const title = join(runDir, 'tasks', 'title');
    const ingestion = JSON.parse(await readFile(join(title, '01-ingestion.json'), 'utf8')) as { seed: unknown; inputs: Record<string, unknown> };
    expect(ingestion).toEqual({
      seed: { $ref: '../../seed.json' },
      inputs: { read: { $ref: '../../tasks/read/output.json#/value' }, shorten: { $ref: '../../tasks/shorten/output.json#/value' } },
    });
    expect(JSON.parse(await readFile(join(title, '02-preprocessed.json'), 'utf8'))).toEqual(ingestion);
    expect(await resolveRef(join(title, '01-ingestion.json'), ingestion.seed)).toEqual(seed);
    expect(await resolveRef(join(title, '01-ingestion.json'), ingestion.inputs.shorten)).toEqual(await readValue('shorten'));

    // The custom stage's result is there in full.
    expect(JSON.parse(await readFile(join(runDir, 'tasks', 'shorten', '02-preprocessed.json'), 'utf8'))).toEqual({ text: await readValue('read') });
  });
});
