import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeSchemas } from '../src/cli/write-schemas.js';
import { PipelineSchema } from '../src/formats/pipeline.js';
import { describeZodError } from '../src/formats/describe-error.js';

const repo = join(import.meta.dirname, '..');
let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('JSON Schemas', () => {
  it('docs/schemas holds exactly what the zod schemas export (run `npm run schemas` after changing a format)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pop-schemas-'));
    const written = await writeSchemas(dir);
    expect(written.map((path) => path.slice(dir!.length + 1)).sort()).toEqual((await readdir(join(repo, 'docs', 'schemas'))).sort());
    for (const path of written) {
      const name = path.slice(dir.length + 1);
      expect(await readFile(path, 'utf8'), name).toBe(await readFile(join(repo, 'docs', 'schemas', name), 'utf8'));
    }
  });

  it('the shipped pipeline.json points at its schema and passes it', async () => {
    const pipeline = JSON.parse(await readFile(join(repo, 'pipeline.json'), 'utf8')) as Record<string, unknown>;
    expect(pipeline.$schema).toBe('./docs/schemas/pipeline.schema.json');
    expect(PipelineSchema.safeParse(pipeline).success).toBe(true);
  });
});

describe('what a bad pipeline.json is told', () => {
  it('a task entry that fits neither a name nor an object names its field and the problem, not "Invalid input"', () => {
    const problems = (tasks: unknown[]) => {
      const parsed = PipelineSchema.safeParse({ name: 'p', tasks });
      return parsed.success ? '' : describeZodError(parsed.error);
    };
    expect(problems(['a', { name: 'b', maxRefinements: 'x' }])).toBe('tasks[1].maxRefinements: Invalid input: expected number, received string');
    expect(problems([{ name: 'a', batch: 'sometimes' }])).toBe('tasks[0].batch: Invalid input: expected boolean, received string, or expected "required"');
    expect(problems([{ name: 'a', nme: 1 }])).toBe('tasks[0]: Unrecognized key: "nme"');
  });
});
