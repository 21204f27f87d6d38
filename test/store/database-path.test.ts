/**
 * DB_PATH judged before anything opens it. Only paths this machine has are tried: the real
 * /proc, /sys and /dev of Linux, and a named pipe made in a temp folder. Nothing here opens or
 * creates a file outside the temp folder: the check only looks.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databasePathProblem } from '../../src/store/database-path.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'database-path-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('databasePathProblem refuses', () => {
  it.each([
    ['/proc/self/gateway.db', /^it is under \/proc, where the kernel shows its state and no file is kept; name a file on a disk/],
    ['/proc/gateway.db', /^it is under \/proc,/],
    ['/proc/self/fd/gateway.db', /^it is under \/proc,/],
    ['/sys/gateway.db', /^it is under \/sys,/],
    // The folder would be made first: on cgroupfs, mkdir makes a cgroup.
    ['/sys/fs/cgroup/caliper/data/gateway.db', /^it is under \/sys,/],
    ['/dev/gateway.db', /^it is under \/dev, which holds devices/],
    ['/dev/pts/gateway.db', /^it is on a devpts file system/],
    ['/dev/null', /^it is a character device, not a file/],
    ['/dev/zero', /^it is a character device, not a file/],
  ])('%s', (file, problem) => {
    expect(databasePathProblem(file)).toMatch(problem);
  });

  it('a named pipe, which an open waits on forever', () => {
    const fifo = join(dir, 'gateway.db');
    execFileSync('mkfifo', [fifo]);
    expect(databasePathProblem(fifo)).toMatch(/^it is a named pipe \(opening it waits for a writer forever\), not a file; /);
  });

  it('a symlink to a device, as it resolves', () => {
    const link = join(dir, 'gateway.db');
    symlinkSync('/dev/null', link);
    expect(databasePathProblem(link)).toMatch(/^it is a character device/);
  });

  it('a path through a symlink into /proc', () => {
    symlinkSync('/proc/self', join(dir, 'into-proc'));
    expect(databasePathProblem(join(dir, 'into-proc', 'data', 'gateway.db'))).toMatch(/^it is under \/proc,/);
  });
});

describe('databasePathProblem leaves to SQLite', () => {
  it('a new file in a folder that exists, or one that does not yet', () => {
    expect(databasePathProblem(join(dir, 'gateway.db'))).toBeUndefined();
    expect(databasePathProblem(join(dir, 'data', 'more', 'gateway.db'))).toBeUndefined();
  });

  it('an existing file, and a folder (which SQLite and openProblem speak of)', () => {
    writeFileSync(join(dir, 'gateway.db'), '');
    mkdirSync(join(dir, 'folder'));
    expect(databasePathProblem(join(dir, 'gateway.db'))).toBeUndefined();
    expect(databasePathProblem(join(dir, 'folder'))).toBeUndefined();
  });

  it('a tmpfs mounted below /dev (/dev/shm), and a path through a symlink to a plain folder', () => {
    expect(databasePathProblem('/dev/shm/caliper-gateway.db')).toBeUndefined();
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    expect(databasePathProblem(join(dir, 'link', 'gateway.db'))).toBeUndefined();
  });

  it('a path through /proc/self/cwd (the working folder) or /proc/self/root (/)', () => {
    // No "..": path.join would fold /proc/self/cwd/../../tmp into /proc/tmp, or past /proc altogether.
    expect(databasePathProblem('/proc/self/cwd/caliper-gateway-not-made.db')).toBeUndefined();
    expect(databasePathProblem(`/proc/self/root${join(dir, 'gateway.db')}`)).toBeUndefined();
  });

  it(':memory:, which serve refuses on its own', () => {
    expect(databasePathProblem(':memory:')).toBeUndefined();
  });
});
