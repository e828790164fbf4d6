import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FILE_FORMATS, jsonSchemaOf } from '../formats/all-schemas.js';

/** Write the JSON Schema of every file format into `dir`; returns the files written. */
export async function writeSchemas(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [file, schema] of Object.entries(FILE_FORMATS)) {
    const path = join(dir, file);
    await writeFile(path, `${JSON.stringify({ ...jsonSchemaOf(schema), title: file.replace('.schema.json', '') }, null, 2)}\n`);
    written.push(path);
  }
  return written;
}
