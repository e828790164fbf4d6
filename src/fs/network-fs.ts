import { statfs } from 'node:fs/promises';

/** statfs magic numbers of file systems shared between machines (linux/magic.h and the projects' own). */
const NETWORK_FILE_SYSTEMS = new Map<number, string>([
  [0x6969, 'nfs'],
  [0x517b, 'smb'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x01021997, '9p'],
  [0x00c36400, 'ceph'],
  [0x65735546, 'fuse'],
  [0x5346414f, 'afs'],
  [0x0bd00bd0, 'lustre'],
  [0x01161970, 'gfs2'],
  [0x7461636f, 'ocfs2'],
]);

/** The kind of network file system a folder is on, or undefined for a local one (or when it cannot tell). */
export async function networkFileSystemOf(path: string): Promise<string | undefined> {
  const stats = await statfs(path).catch(() => undefined);
  return stats ? NETWORK_FILE_SYSTEMS.get(stats.type >>> 0) : undefined;
}
