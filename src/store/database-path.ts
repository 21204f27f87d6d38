/**
 * Whether DB_PATH can hold a database at all, told before anything opens it or makes its folder.
 *
 * A named pipe there made `serve` and `status` wait forever at start, in an open() no signal
 * handler runs beside: opening one waits for the other end. A device (/dev/null, /dev/zero, a
 * terminal, a disk) failed with SQLite's "disk I/O error", after leaving `<device>.lock` and a
 * journal in /dev when run as root. /proc and /sys keep no files: SQLite's "unable to open
 * database file" named neither, and making the folder there can make a kernel object (a cgroup).
 * Said in an admin's words instead. Only those: a file on any disk, a tmpfs (/dev/shm, /run), a
 * bind mount, a path through a symlink or /proc/self/cwd is left to SQLite as before.
 */
import { realpathSync, statfsSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';

/** Where the kernel shows its state as files; nothing else is kept there. */
const KERNEL_FOLDERS = ['/proc', '/sys'];

/** Linux file system types (statfs f_type, linux/magic.h) of the same kind, wherever mounted. */
const KERNEL_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
]);

const INSTEAD = 'name a file on a disk, such as ./data/gateway.db';

/** Why `file` (an absolute path) cannot hold the database ("it is …"), or undefined when SQLite may try it. */
export function databasePathProblem(file: string): string | undefined {
  if (file === ':memory:') return undefined;
  const found = statOrUndefined(file);
  if (found && !found.isFile() && !found.isDirectory()) return `it is ${kindOf(found)}, not a file; ${INSTEAD}`;
  const { existing, rest } = nearestExisting(file);
  if (existing === undefined) return undefined;
  // As the kernel resolves it: /proc/self/cwd/gateway.db is a file in the working folder.
  let real: string;
  try {
    real = path.join(realpathSync.native(existing), rest);
  } catch {
    return undefined;
  }
  const kernel = KERNEL_FOLDERS.find((folder) => real === folder || real.startsWith(`${folder}/`));
  if (kernel) return `it is under ${kernel}, where the kernel shows its state and no file is kept; ${INSTEAD}`;
  if (process.platform === 'linux') {
    const type = KERNEL_FILE_SYSTEMS.get(statfsType(existing) ?? -1);
    if (type) return `it is on a ${type} file system, where the kernel shows its state and no file is kept; ${INSTEAD}`;
  }
  if (onDevFileSystem(existing)) return `it is under /dev, which holds devices, and whatever else is written there is gone at the next boot; ${INSTEAD}`;
  return undefined;
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a named pipe (opening it waits for a writer forever)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device (a disk itself)';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The deepest folder (or file) of `file` that exists, and the path below it. */
function nearestExisting(file: string): { existing?: string; rest: string } {
  let existing = file;
  for (;;) {
    const stats = statOrUndefined(existing);
    if (stats) return { existing, rest: path.relative(existing, file) };
    const parent = path.dirname(existing);
    if (parent === existing) return { rest: file };
    existing = parent;
  }
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

function statfsType(file: string): number | undefined {
  try {
    return statfsSync(file).type;
  } catch {
    return undefined;
  }
}

/**
 * On the file system mounted at /dev (devtmpfs), not one mounted below it (/dev/shm, a tmpfs
 * some use for scratch databases). Only where /dev is a mount of its own, so a system without
 * one refuses nothing.
 */
function onDevFileSystem(existing: string): boolean {
  const dev = statOrUndefined('/dev');
  const root = statOrUndefined('/');
  const here = statOrUndefined(existing);
  return dev !== undefined && root !== undefined && here !== undefined && dev.dev !== root.dev && here.dev === dev.dev;
}
