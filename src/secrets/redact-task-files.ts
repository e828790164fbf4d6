import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { knowsSecrets, redact } from './known-secrets.js';

/** Files larger than this are left as they are: a task's artifacts are far smaller. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Take every key the manager knows out of the files a task attempt wrote (changed since `since`),
 * in place, atomically. The task process runs without keys and so cannot recognise them; a key
 * can still reach its files (quoted in a seed or an upstream output, read from a file by task
 * code), so the manager looks before any downstream task, the view or a person reads them.
 */
export async function redactTaskFiles(taskDir: string, since: number, onRedacted: (artifact: string, variables: string[]) => void): Promise<void> {
  if (!knowsSecrets()) return;
  for await (const path of changedFiles(taskDir, since)) {
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const redacted = redact(text);
    if (!redacted.names.length) continue;
    await writeFileAtomic(path, redacted.text);
    onRedacted(relative(taskDir, path), redacted.names);
  }
}

async function* changedFiles(dir: string, since: number): AsyncGenerator<string> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const path = join(dir, name);
    const info = await lstat(path).catch(() => undefined);
    // Links are not followed: what they point to is not the task's file.
    if (!info || info.isSymbolicLink()) continue;
    if (info.isDirectory()) yield* changedFiles(path, since);
    else if (info.isFile() && info.mtimeMs >= since - 1000 && info.size <= MAX_FILE_BYTES) yield path;
  }
}
