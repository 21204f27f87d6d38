/**
 * `mappings/user-overrides.yaml`: Learn externalIds an admin has pinned to a TimeBack
 * platform id, for students whose ids differ between the two systems. They win over the
 * cache and the roster.
 *
 * The file is optional. It is reread when it changes; a bad edit is logged and the last
 * good table stays in force (a typo must not un-map every pinned student at once).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { errorMessage, formatPath } from '../errors.ts';
import { watchFolder, type FolderWatch } from '../folder-watch.ts';
import { isRecord } from '../is-record.ts';
import type { Logger } from '../log.ts';

const UserOverridesFileSchema = z.strictObject(
  {
    overrides: z
      .record(
        z.string().trim().min(1),
        z.uuid('must be the TimeBack platform id (a UUID)').transform((id) => id.toLowerCase()),
        {
          error: (issue) =>
            issue.code === 'invalid_key'
              ? 'a Learn externalId must not be empty'
              : 'must map each Learn externalId to a TimeBack platform id',
        },
      )
      .nullish(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? 'unknown key; the file has one key, "overrides"'
        : 'must be a map with one key, "overrides"',
  },
);

export class UserOverridesError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserOverridesError';
  }
}

/** Reads and validates the file; an absent file is an empty table. Throws UserOverridesError naming the file and the line or key. */
export function loadUserOverrides(file: string): Map<string, string> {
  const text = readIfPresent(file);
  return text === undefined ? new Map() : parseUserOverrides(text, file);
}

function parseUserOverrides(text: string, file: string): Map<string, string> {
  const lines = new LineCounter();
  let document: unknown;
  let tree: Document.Parsed;
  try {
    tree = parseDocument(text, { lineCounter: lines });
    if (tree.errors[0]) throw tree.errors[0];
    document = tree.toJS();
  } catch (err) {
    const firstLine = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
    throw new UserOverridesError(`${file}: not valid YAML: ${firstLine}`, { cause: err });
  }
  // An empty file (or only comments) means no overrides.
  if (document === null || document === undefined) return new Map();
  const result = UserOverridesFileSchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.code === 'unrecognized_keys' ? [...issue.path, ...issue.keys.slice(0, 1)] : (issue?.path ?? []);
    const problem = issue?.message ?? 'invalid';
    // An entry's key is a student's Learn id (often an e-mail address), and this message is
    // logged: the line number finds the entry without naming the student.
    if (path[0] === 'overrides' && path.length === 2) {
      const line = lineOfKey(tree, path.slice(0, 2), lines);
      throw new UserOverridesError(`${file}${line ? `:${line}` : ''}: an entry under overrides: ${problem}`);
    }
    // An unknown key with a plain value is an entry that lost its indentation: the key is a
    // student's id. (A misspelt `override:` holds a map, and is named, so it can be found.)
    const value = path.length === 1 && isRecord(document) ? document[String(path[0])] : undefined;
    if (issue?.code === 'unrecognized_keys' && path.length === 1 && value !== null && typeof value !== 'object') {
      const line = lineOfKey(tree, path.slice(0, 1), lines);
      throw new UserOverridesError(`${file}${line ? `:${line}` : ''}: an entry outside overrides: indent it under "overrides:"`);
    }
    throw new UserOverridesError(`${file}: ${formatPath(path)}: ${problem}`);
  }
  return new Map(Object.entries(result.data.overrides ?? {}).map(([externalId, platformId]) => [externalId.trim(), platformId]));
}

/** The line of the key at `path` (`['overrides', key]`, or a top-level `[key]`), if the document has one. */
function lineOfKey(tree: Document.Parsed, path: PropertyKey[], lines: LineCounter): number | undefined {
  const key = path.at(-1);
  const map = path.length === 1 ? tree.contents : tree.get(String(path[0]), true);
  if (!isMap(map)) return undefined;
  for (const pair of map.items) {
    if (isScalar(pair.key) && String(pair.key.value).trim() === String(key) && pair.key.range) {
      return lines.linePos(pair.key.range[0]).line;
    }
  }
  return undefined;
}

export interface UserOverrides {
  /** The pinned platform id for this externalId, if any. */
  get(externalId: string): string | undefined;
  readonly size: number;
  /** Rereads the file now; false (and the last good table kept) when it is bad. */
  reload(): boolean;
  close(): void;
}

export interface UserOverridesDeps {
  file: string;
  log: Logger;
  /** Watch the file and reread it on change (default true). The CLI reads it once. */
  watch?: boolean;
}

/** Loads the overrides (throwing if the file is bad at start) and keeps them current. */
export function createUserOverrides({ file, log, watch: watching = true }: UserOverridesDeps): UserOverrides {
  let lastText = readIfPresent(file);
  let table = lastText === undefined ? new Map<string, string>() : parseUserOverrides(lastText, file);
  let watcher: FolderWatch | undefined;
  let debounce: NodeJS.Timeout | undefined;

  const reload = (): boolean => {
    let text: string | undefined;
    try {
      text = readIfPresent(file);
    } catch (err) {
      log.error({ file, err }, 'could not read the user overrides file; keeping the previous overrides');
      return false;
    }
    if (text === lastText) return true;
    try {
      const next = text === undefined ? new Map<string, string>() : parseUserOverrides(text, file);
      table = next;
      lastText = text;
      log.info({ file, overrides: next.size }, text === undefined ? 'user overrides file removed' : 'user overrides reloaded');
      return true;
    } catch (err) {
      const message = errorMessage(err);
      log.error({ file, problem: message }, 'user overrides file is invalid; keeping the previous overrides');
      return false;
    }
  };

  if (watching) {
    // The folder may be missing at start or replaced later (a deploy): the watch keeps trying,
    // and rereads the file once it is back.
    const name = path.basename(file);
    watcher = watchFolder({
      dir: path.dirname(file),
      what: 'user overrides',
      recursive: false,
      relevant: (filename) => filename === name,
      onChange: () => {
        clearTimeout(debounce);
        // Saves arrive as several events; read once they settle.
        debounce = setTimeout(reload, 50);
        debounce.unref();
      },
      log,
    });
  }

  return {
    get: (externalId) => table.get(externalId),
    get size() {
      return table.size;
    },
    reload,
    close() {
      clearTimeout(debounce);
      watcher?.close();
    },
  };
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
