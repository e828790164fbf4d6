import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FILE_FORMATS, jsonSchemaOf } from '../formats/all-schemas.js';

/** Write the JSON Schema of every file format into `dir`; returns the files written. */
export async function writeSchemas(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const file of Object.keys(FILE_FORMATS)) {
    const path = join(dir, file);
    await writeFile(path, schemaFileText(file as keyof typeof FILE_FORMATS));
    written.push(path);
  }
  return written;
}

/** The text of one format's JSON Schema file, as `schemas` writes it. */
export function schemaFileText(file: keyof typeof FILE_FORMATS): string {
  return `${JSON.stringify({ ...jsonSchemaOf(FILE_FORMATS[file]), title: file.replace('.schema.json', '') }, null, 2)}\n`;
}
