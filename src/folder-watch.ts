/**
 * A folder watch that keeps going: when the folder is missing, or removed or replaced (a deploy,
 * a git checkout), the watch is tried again every second, and a change is reported once it is
 * back (it may have come back different). A missing folder is logged once, not every second.
 *
 * Folders are watched, not files: editors that save by writing a new file and renaming it over
 * the old one replace the inode a file watch would follow, and a file may not exist yet.
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import type { Logger } from './log.ts';
import { errorMessage } from './errors.ts';

const REWATCH_MS = 1_000;

export interface FolderWatch {
  close(): void;
}

export interface FolderWatchOptions {
  dir: string;
  /** How the folder is named in logs. */
  what: string;
  recursive: boolean;
  /** Whether a change to this file (relative to dir) can matter; a change without a name always does. */
  relevant: (filename: string) => boolean;
  onChange: () => void;
  log: Logger;
  /** Between tries for a missing or lost folder (default 1 s; tests shorten it rather than wait). */
  rewatchMs?: number;
}

/** Starts watching `dir`; `onChange` runs for each relevant change, and when a lost watch is back. */
export function watchFolder(options: FolderWatchOptions): FolderWatch {
  const { dir, what, log } = options;
  let watcher: FSWatcher | undefined;
  let watched: number | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  let failing = false;

  function start(): boolean {
    try {
      watcher = watch(dir, { persistent: false, recursive: options.recursive }, (_event, filename) => {
        // Linux reports the folder itself going (removed, or renamed away by a deploy that swaps
        // it) as one more event, not as an error, and the watch then hears nothing more.
        const current = folderOf(dir);
        if (current === undefined || current !== watched) return lose(undefined);
        if (filename === null || options.relevant(String(filename))) options.onChange();
      });
      watched = folderOf(dir);
    } catch (err) {
      watcher?.close();
      watcher = undefined;
      if (!failing) log.warn({ dir, problem: watchProblem(err) }, `cannot watch the ${what} folder; trying again every second`);
      failing = true;
      scheduleRetry();
      return false;
    }
    if (failing) log.info({ dir }, `watching the ${what} folder again`);
    failing = false;
    watcher.on('error', (err) => lose(err));
    return true;
  }

  function lose(err: unknown): void {
    log.warn({ dir, ...(err === undefined ? {} : { problem: watchProblem(err) }) }, `lost the watch on the ${what} folder; trying again every second`);
    failing = true;
    watcher?.close();
    watcher = undefined;
    scheduleRetry();
  }

  function scheduleRetry(): void {
    if (closed) return;
    clearTimeout(retry);
    retry = setTimeout(() => {
      if (!closed && start()) options.onChange();
    }, options.rewatchMs ?? REWATCH_MS);
    retry.unref();
  }

  start();
  return {
    close() {
      closed = true;
      clearTimeout(retry);
      watcher?.close();
    },
  };
}

/** The folder's inode, to tell it from one put in its place; undefined when it is gone. */
function folderOf(dir: string): number | undefined {
  try {
    return statSync(dir).ino;
  } catch {
    return undefined;
  }
}

function watchProblem(err: unknown): string {
  if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return 'the folder does not exist';
  return errorMessage(err);
}
