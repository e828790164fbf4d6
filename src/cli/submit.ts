import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createNewFile } from '../fs/create-new-file.js';
import { fitName, NAME_MAX_BYTES } from '../fs/file-name.js';
import { MAX_SEED_BYTES } from '../formats/seed.js';
import { MAX_JSON_DEPTH, tooDeepAt } from '../formats/json-depth.js';
import { err, ok, type Result } from '../result.js';

/** Read a seed from a file, or standard input for `-`, checking it is a JSON object first. */
export async function readSeedSource(source: string): Promise<Result<{ name: string; text: string }, string>> {
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
  if (deep) return err(`${source}: nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep (line ${deep.line}, column ${deep.column}); a seed may nest at most ${MAX_JSON_DEPTH}`);
  let data: unknown;
  try {
    // A leading byte-order mark is kept in the file (the manager skips it too).
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    return err(`${source}: not valid JSON (${(error as Error).message})`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return err(`${source}: a seed must be a JSON object`);
  const name = source === '-' ? `stdin-${Date.now()}.json` : basename(source).replace(/(\.json)?$/i, '.json');
  const bytes = Buffer.byteLength(name);
  if (bytes > NAME_MAX_BYTES) return err(`${source}: the seed's name "${name}" is ${bytes} bytes; a file name may be at most ${NAME_MAX_BYTES}: rename the file`);
  if (name.startsWith('.')) return err(`${source}: the seed's name "${name}" starts with "."; hidden names are never taken as seeds: rename the file`);
  return ok({ name, text });
}

/**
 * Drop a seed into pending atomically, so a watcher never sees half of it: written under a temp
 * name, then hard-linked into place, which never replaces a seed already waiting there under the
 * same name (the new one gets `name.2.json`, ...). Returns where it went.
 */
export async function submitSeed(pendingDir: string, seed: { name: string; text: string }): Promise<string> {
  const stem = seed.name.replace(/\.json$/i, '');
  function* names() {
    yield join(pendingDir, seed.name);
    for (let n = 2; ; n++) yield join(pendingDir, fitName(stem, `.${n}.json`));
  }
  return (await createNewFile(names(), seed.text))!;
}
