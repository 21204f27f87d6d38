/**
 * Keeps the active mapping rules, and replaces them when a file in MAPPINGS_DIR changes, but
 * only if every rule file loads and every fixture passes; otherwise the rules that were
 * active stay active and the problems are logged and counted. Startup goes through the same
 * gate: until a rule set passes, no rules are active and events wait, pending.
 *
 * The folder is watched, not the files: editors that save by writing a new file and renaming
 * it over the old one replace the inode a file watch would follow. Changes are debounced, and
 * every reload re-lists the folder, so it does not matter which file the event named.
 */
import { watch, type FSWatcher } from 'node:fs';
import { OVERRIDES_FILE_NAME } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { checkMappings } from './check-mappings.ts';
import { RULE_FILE_EXTENSION } from './rule-loader.ts';
import type { RuleSet } from './rule-set.ts';

export type ReloadResult = { ok: true; files: number; rules: number; fixtures: number } | { ok: false; problems: string[] };

export interface MappingReloaderDeps {
  mappingsDir: string;
  fixturesDir: string;
  log: Logger;
  metrics: Metrics;
  /** Quiet time after the last change before reloading. */
  debounceMs?: number;
  /** Watch the folder (off for one-shot uses and some tests). */
  watch?: boolean;
  /** Called after every reload attempt, with its result (new rules are active by then). */
  onReload?: (result: ReloadResult) => void;
}

export interface MappingReloader {
  readonly name: 'mapping reload';
  /** The rules to translate with now; undefined while no rule set has passed. */
  current(): RuleSet | undefined;
  /** Why no rules are active (for /readyz); empty once some are. */
  problems(): string[];
  /** Loads the rules for the first time and starts watching. Never throws: problems are logged. */
  start(): Promise<void>;
  /** Checks the folder now and activates it if it passes. */
  reload(): Promise<ReloadResult>;
  stop(): Promise<void>;
}

const REWATCH_MS = 1_000;

export function createMappingReloader(deps: MappingReloaderDeps): MappingReloader {
  const { mappingsDir, fixturesDir, log, metrics } = deps;
  const debounceMs = deps.debounceMs ?? 250;
  let active: RuleSet | undefined;
  let lastProblems: string[] = ['mapping rules have not been loaded yet'];
  let chain: Promise<unknown> = Promise.resolve();
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let rewatch: NodeJS.Timeout | undefined;
  let stopped = false;

  async function attempt(): Promise<ReloadResult> {
    let result: ReloadResult;
    try {
      const check = await checkMappings(mappingsDir, fixturesDir);
      if (check.ok) {
        active = check.rules;
        lastProblems = [];
        result = { ok: true, files: check.rules.files.length, rules: check.rules.rules.length, fixtures: check.fixtures.length };
      } else {
        result = { ok: false, problems: check.problems };
      }
    } catch (err) {
      result = { ok: false, problems: [`could not check the mappings: ${(err as Error).message}`] };
    }
    metrics.mappingReloads.inc({ result: result.ok ? 'success' : 'failure' });
    if (result.ok) {
      log.info({ dir: mappingsDir, files: result.files, rules: result.rules, fixtures: result.fixtures }, 'mapping rules active');
    } else if (active) {
      log.error({ dir: mappingsDir, problems: result.problems }, 'mapping change refused; the rules that were active stay active');
    } else {
      lastProblems = result.problems;
      log.error({ dir: mappingsDir, problems: result.problems }, 'no mapping rules are active; events wait until the rules load and pass their fixtures');
    }
    deps.onReload?.(result);
    return result;
  }

  function reload(): Promise<ReloadResult> {
    const next = chain.then(attempt);
    chain = next;
    return next;
  }

  function changed(filename: string | null): void {
    if (stopped) return;
    if (filename !== null && (!filename.endsWith(RULE_FILE_EXTENSION) || filename === OVERRIDES_FILE_NAME)) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void reload(), debounceMs);
    debounce.unref();
  }

  function startWatching(): void {
    if (stopped) return;
    try {
      watcher = watch(mappingsDir, { persistent: false }, (_event, filename) => changed(filename === null ? null : String(filename)));
    } catch (err) {
      log.warn({ err, dir: mappingsDir }, 'cannot watch the mappings folder; trying again');
      scheduleRewatch();
      return;
    }
    watcher.on('error', (err) => {
      // The folder was removed or replaced (a deploy, a git checkout): watch it again when it is back.
      log.warn({ err, dir: mappingsDir }, 'lost the watch on the mappings folder; trying again');
      watcher?.close();
      watcher = undefined;
      scheduleRewatch();
    });
  }

  function scheduleRewatch(): void {
    if (stopped) return;
    clearTimeout(rewatch);
    rewatch = setTimeout(() => {
      startWatching();
      if (watcher) changed(null);
    }, REWATCH_MS);
    rewatch.unref();
  }

  return {
    name: 'mapping reload',
    current: () => active,
    problems: () => (active ? [] : lastProblems),
    async start() {
      await reload();
      if (deps.watch ?? true) startWatching();
    },
    reload,
    async stop() {
      stopped = true;
      clearTimeout(debounce);
      clearTimeout(rewatch);
      watcher?.close();
      await chain;
    },
  };
}
