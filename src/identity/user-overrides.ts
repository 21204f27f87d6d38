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
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type ParsedNode } from 'yaml';
import { z } from 'zod';
import { closestKey, didYouMean } from '../closest-name.ts';
import { watchFolder, type FolderWatch } from '../folder-watch.ts';
import type { Logger } from '../log.ts';
import { describeYamlErrors } from '../mapping/yaml-syntax.ts';
import { readExternalIdKey } from './identity-resolver.ts';

const TOP_KEY = 'overrides';
const PlatformId = z.uuid();

/** A file that cannot be used: every problem, each naming the file and line (never a student's id). */
export class UserOverridesError extends Error {
  constructor(readonly problems: string[]) {
    super(`user overrides not loaded:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'UserOverridesError';
  }
}

/**
 * Reads and validates the file; an absent file is an empty table. Throws UserOverridesError listing every problem.
 * `warn` hears what the gateway would log as a warning on loading this file (the commands that
 * read it once have no logger, and print it on stderr), named by line, never by id.
 */
export function loadUserOverrides(file: string, warn: (message: string) => void = () => {}): Map<string, string> {
  const text = readIfPresent(file);
  if (text === undefined) return new Map();
  const { table, sharedPlatformIds } = parseUserOverrides(text, file);
  if (sharedPlatformIds.length > 0) warn(`${file}: ${sharedPlatformIdsMessage(sharedPlatformIds)}`);
  return table;
}

interface ParsedOverrides {
  table: Map<string, string>;
  /** The lines of entries that pin one platform id, for each platform id pinned more than once. */
  sharedPlatformIds: number[][];
}

/**
 * The file is checked node by node rather than as the plain object YAML makes of it: each
 * problem needs its line, a repeated key must be seen (a plain object keeps the last), and an
 * entry's key is a student's Learn id (often an e-mail address) that must not reach the log
 * these messages go to. So a message names the line of an entry, never its key, and says what
 * is wrong with its value without quoting it either (a swapped entry holds the id there).
 */
function parseUserOverrides(text: string, file: string): ParsedOverrides {
  const lines = new LineCounter();
  // uniqueKeys off: repeats are found below, where they can be named by line as a student pinned twice.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, merge: false, schema: 'core', prettyErrors: false });
  // Only the first syntax error: the parser's later ones mostly follow from it. Not its
  // warnings (an unknown tag or directive): the values are read as text all the same, and a
  // file this loader has always read must not stop a gateway from starting.
  const yamlProblem = describeYamlErrors(doc.errors, text, lines);
  if (yamlProblem !== undefined) throw new UserOverridesError([`${file}:${yamlProblem}`]);

  const problems: Array<{ line: number; message: string }> = [];
  const lineOf = (node: Node | null | undefined) => (node?.range ? lines.linePos(node.range[0]).line : 0);
  const report = (node: Node | null | undefined, message: string) => problems.push({ line: lineOf(node), message });
  const table = new Map<string, string>();
  const pinnedOn = new Map<string, number[]>();

  const root = resolved(doc, doc.contents);
  // An empty file (or only comments) means no overrides.
  if (root === null || (isScalar(root) && root.value === null)) return { table, sharedPlatformIds: [] };
  if (!isMap(root)) {
    report(root, '(root): must be a map with one key, "overrides"');
  } else {
    let overridesKey: Node | undefined;
    for (const pair of root.items) {
      const key = resolved(doc, pair.key as ParsedNode | null);
      const value = resolved(doc, pair.value as ParsedNode | null);
      const name = isScalar(key) ? keyText(key) : undefined;
      if (name === TOP_KEY) {
        if (overridesKey !== undefined) report(key, `${TOP_KEY}: written twice (also on line ${lineOf(overridesKey)}); keep one`);
        if (overridesKey === undefined && key !== null) overridesKey = key;
        readEntries(doc, key, value, { table, pinnedOn }, report, lineOf);
      } else if (name !== undefined && closestKey(name, [TOP_KEY]) !== undefined) {
        // A misspelt "overrides" is named: it cannot be a student's id, and the name shows the typo.
        report(key, `${name}: unknown key; ${didYouMean(name, TOP_KEY)} (the file has one key, "overrides")`);
      } else if (value === null || isScalar(value)) {
        // An entry that lost its indentation: its key is a student's id.
        report(key ?? value, 'an entry outside overrides: indent it under "overrides:"');
      } else {
        // Not named either: it may be a student's id too (`jstudent9:` with a mapping under it).
        report(key ?? value, 'unknown key; the file has one key, "overrides"');
      }
    }
  }
  if (problems.length > 0) {
    // Line by line, as the admin reads and fixes the file.
    throw new UserOverridesError(problems.sort((a, b) => a.line - b.line).map(({ line, message }) => `${file}${line > 0 ? `:${line}` : ''}: ${message}`));
  }
  return { table, sharedPlatformIds: [...pinnedOn.values()].filter((lines) => lines.length > 1) };
}

/** Adds the entries under `overrides:` to `table`, and the line of each to `pinnedOn` by its platform id; reports each bad one by its line. */
function readEntries(
  doc: Document.Parsed,
  overridesKey: Node | null,
  value: Node | null,
  { table, pinnedOn }: { table: Map<string, string>; pinnedOn: Map<string, number[]> },
  report: (node: Node | null | undefined, message: string) => void,
  lineOf: (node: Node | null | undefined) => number,
): void {
  if (value === null || (isScalar(value) && value.value === null)) return;
  if (!isMap(value)) {
    report(overridesKey, `${TOP_KEY}: must map each Learn externalId to a TimeBack platform id`);
    return;
  }
  // Where each id was first pinned, compared as the resolver looks it up (trimmed).
  const firstLine = new Map<string, { line: number; written: string }>();
  for (const pair of value.items) {
    const key = resolved(doc, pair.key as ParsedNode | null);
    const platformId = resolved(doc, pair.value as ParsedNode | null);
    const where = key ?? platformId;
    const entry = (problem: string) => report(where, `an entry under overrides: ${problem}`);
    let externalId: string | undefined;
    if (key !== null && !isScalar(key)) {
      entry(`the key must be a Learn externalId (text), not ${isSeq(key) ? 'a list' : 'a mapping'}`);
    } else {
      const written = key === null ? '' : keyText(key);
      const read = readExternalIdKey(written);
      if (!read.ok) {
        entry(read.problem);
      } else {
        externalId = read.externalId;
        const first = firstLine.get(externalId);
        if (first === undefined) {
          firstLine.set(externalId, { line: lineOf(where), written });
        } else {
          const spaces = first.written !== written ? ' (spaces around an id do not count)' : '';
          entry(`pins the same Learn externalId as line ${first.line}${spaces}: a student is pinned once; keep one of the two`);
          externalId = undefined;
        }
      }
    }
    const id = isScalar(platformId) && typeof platformId.value === 'string' ? PlatformId.safeParse(platformId.value) : undefined;
    if (id?.success) {
      if (externalId !== undefined) {
        const platformId = id.data.toLowerCase();
        table.set(externalId, platformId);
        pinnedOn.set(platformId, [...(pinnedOn.get(platformId) ?? []), lineOf(where)]);
      }
      continue;
    }
    const swapped = externalId !== undefined && PlatformId.safeParse(externalId).success ? ' (the key is a UUID: are the Learn externalId and the platform id swapped?)' : '';
    entry(`must be the TimeBack platform id (a UUID); ${describeValue(platformId)}${swapped}`);
  }
}

/** What a value that is no platform id is, without quoting it (an entry written the wrong way round holds a student's id there). */
function describeValue(node: Node | null): string {
  if (node === null || (isScalar(node) && (node.value === null || node.value === ''))) return 'the value is empty';
  if (isSeq(node)) return 'got a list';
  if (isMap(node)) return 'got a mapping';
  const value = isScalar(node) ? node.value : undefined;
  if (typeof value === 'number' || typeof value === 'bigint') return 'got a number';
  if (typeof value === 'boolean') return 'got true or false';
  if (typeof value === 'string') return `got text (${value.length} character${value.length === 1 ? '' : 's'}) that is not a UUID`;
  return 'got a value that is not text';
}

/**
 * A key as written: a batch_uid is text, and Learn sends it as such. YAML would read `00123`
 * as the number 123 and `0x1F` as 31, pinning an id no student has.
 */
function keyText(key: Node): string {
  if (!isScalar(key)) return '';
  if (typeof key.source === 'string') return key.source;
  return key.value === null || key.value === undefined ? '' : String(key.value);
}

/** The node an alias (`*name`) stands for; the node itself otherwise. */
function resolved(doc: Document.Parsed, node: ParsedNode | null | undefined): Node | null {
  if (node === null || node === undefined) return null;
  return isAlias(node) ? (node.resolve(doc) ?? null) : node;
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
  const parse = (text: string | undefined): Map<string, string> => {
    if (text === undefined) return new Map();
    const parsed = parseUserOverrides(text, file);
    warnSharedPlatformIds(log, file, parsed.sharedPlatformIds);
    return parsed.table;
  };
  let table = parse(lastText);
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
      const next = parse(text);
      table = next;
      lastText = text;
      log.info({ file, overrides: next.size }, text === undefined ? 'user overrides file removed' : 'user overrides reloaded');
      return true;
    } catch (err) {
      // Each problem names a line, never a student: this is logged.
      const detail = err instanceof UserOverridesError ? { problems: err.problems } : { err };
      log.error({ file, ...detail }, 'user overrides file is invalid; keeping the previous overrides');
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

/**
 * One platform id pinned to two Learn ids may be one student with two Learn accounts, so it is
 * accepted; but it may as well be a line copied and not changed, crediting one student with
 * another's work. One warning a load, naming lines, never ids (this is logged).
 */
function warnSharedPlatformIds(log: Logger, file: string, shared: readonly number[][]): void {
  if (shared.length === 0) return;
  log.warn({ file, lines: shared }, sharedPlatformIdsMessage(shared));
}

function sharedPlatformIdsMessage(shared: readonly number[][]): string {
  const groups = shared.map((lines) => `lines ${lines.slice(0, -1).join(', ')} and ${lines.at(-1)}`).join('; ');
  return `user overrides pin one TimeBack platform id to more than one Learn externalId (${groups}): accepted, as one student may have two Learn accounts; if not, one of those lines has the wrong platform id`;
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
