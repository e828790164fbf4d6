import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createNewFile } from './create-new-file.js';

/** `.pop/workspace-id`: names a workspace's queue and leases, whatever its folder is called or mounted as. */
export const workspaceIdPath = (root: string): string => join(root, '.pop', 'workspace-id');

const ID = /^[a-z0-9-]{8,64}$/;

/**
 * The workspace's id, created on first use (`init`, or the first `start` or `worker`). Made with an
 * exclusive link, so two processes starting at once on a shared folder agree on one id.
 */
export async function workspaceId(root: string): Promise<string> {
  const path = workspaceIdPath(root);
  const read = async () => (await readFile(path, 'utf8').catch(() => '')).trim();
  let id = await read();
  if (!id) {
    await mkdir(dirname(path), { recursive: true });
    await createNewFile([path], `${randomUUID()}\n`);
    id = await read();
  }
  if (!ID.test(id)) throw new Error(`${path}: not a workspace id (expected 8 to 64 of a-z, 0-9 and -); remove the file to have a new one made`);
  return id;
}
