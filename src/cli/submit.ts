import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createNewFile } from '../fs/create-new-file.js';
import { fitName, NAME_MAX_BYTES } from '../fs/file-name.js';
import { MAX_SEED_BYTES } from '../formats/seed.js';
import { MAX_JSON_DEPTH, tooDeepAt } from '../formats/json-depth.js';
import { err, ok, type Result } from '../result.js';

/** A seed read and checked, ready to drop: its name in pipeline-pending/, its bytes, its value. */
export interface SeedSource {
  name: string;
  text: string;
  data: Record<string, unknown>;
}

/**
 * Read a seed from a file, or standard input for `-`, checking it is a JSON object first. `name`
 * names it in pipeline-pending/ (and so in its run id) instead of the file's own name.
 */
export async function readSeedSource(source: string, name?: string): Promise<Result<SeedSource, string>> {
  let text: string;
  try {
    if (source === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } else {
      if ((await stat(source)).size > MAX_SEED_BYTES) return err(`${source}: larger than the 10 MB a seed may be`);
      text = await readFile(source, 'utf8');
    }
  } catch (error) {
    return err(`${source}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const deep = tooDeepAt(Buffer.from(text));
  if (deep)
    return err(
      `${source}: nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep (line ${deep.line}, column ${deep.column}); a seed may nest at most ${MAX_JSON_DEPTH}`,
    );
  let data: unknown;
  try {
    // A leading byte-order mark is kept in the file (the manager skips it too).
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    return err(`${source}: not valid JSON (${(error as Error).message})`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return err(`${source}: a seed must be a JSON object`);
  const fileName = (name ?? (source === '-' ? `stdin-${Date.now()}` : basename(source))).replace(/(\.json)?$/i, '.json');
  const bytes = Buffer.byteLength(fileName);
  if (bytes > NAME_MAX_BYTES)
    return err(`${source}: the seed's name "${fileName}" is ${bytes} bytes; a file name may be at most ${NAME_MAX_BYTES}: rename the file`);
  if (fileName.startsWith('.')) return err(`${source}: the seed's name "${fileName}" starts with "."; hidden names are never taken as seeds: rename the file`);
  return ok({ name: fileName, text, data: data as Record<string, unknown> });
}

/**
 * Drop a seed into pending atomically, so a watcher never sees half of it: written under a temp
 * name, then hard-linked into place, which never replaces a seed already waiting there under the
 * same name (the new one gets `name.2.json`, ...). Returns where it went.
 */
export async function submitSeed(pendingDir: string, seed: Pick<SeedSource, 'name' | 'text'>): Promise<string> {
  const stem = seed.name.replace(/\.json$/i, '');
  function* names() {
    yield join(pendingDir, seed.name);
    for (let n = 2; ; n++) yield join(pendingDir, fitName(stem, `.${n}.json`));
  }
  return (await createNewFile(names(), seed.text))!;
}
