import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { err, ok, type Result } from '../result.js';
import { describeZodError } from '../formats/describe-error.js';
import { parsePipelineText } from '../formats/parse-jsonc.js';

export type ReadJsonError =
  | { reason: 'missing'; path: string; message: string }
  | { reason: 'not-json'; path: string; message: string }
  | { reason: 'invalid'; path: string; message: string };

/**
 * Read a JSON file and check it against its schema; every failure names the file. `comments`
 * allows JSONC (pipeline.json and its snapshots may have comments).
 */
export async function readJsonFile<S extends z.ZodType>(
  path: string,
  schema: S,
  options: { comments?: boolean } = {},
): Promise<Result<z.output<S>, ReadJsonError>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return err({ reason: 'missing', path, message: `${path}: cannot read (${code ?? String(error)})` });
  }
  let data: unknown;
  if (options.comments) {
    const parsed = parsePipelineText(text);
    if (!parsed.ok) return err({ reason: 'not-json', path, message: `${path}: ${parsed.error}` });
    data = parsed.value;
  } else {
    try {
      data = JSON.parse(text);
    } catch (error) {
      return err({ reason: 'not-json', path, message: `${path}: not valid JSON (${(error as Error).message})` });
    }
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    return err({ reason: 'invalid', path, message: `${path}: ${describeZodError(parsed.error)}` });
  }
  return ok(parsed.data);
}
