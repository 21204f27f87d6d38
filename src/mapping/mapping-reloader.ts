/**
 * Keeps the active mapping rules, and replaces them when a file in MAPPINGS_DIR changes, but
 * only if every rule file loads and every fixture passes; otherwise the rules that were
 * active stay active and the problems are logged and counted. Startup goes through the same
 * gate: until a rule set passes, no rules are active and events wait, pending.
 *
 * FIXTURES_DIR is watched too: a changed, added or removed fixture runs the same gate, so a
 * fixture that the active rules no longer pass is reported at once, not at the next rule edit.
 *
 * The folders are watched, not the files: editors that save by writing a new file and renaming
 * it over the old one replace the inode a file watch would follow. Changes are debounced, and
 * every reload re-lists both folders, so it does not matter which file the event named.
 */
import path from 'node:path';
import { OVERRIDES_FILE_NAME } from '../config.ts';
import { watchFolder, type FolderWatch } from '../folder-watch.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { checkMappings } from './check-mappings.ts';
import { misnamedRuleFile, RULE_FILE_EXTENSION } from './rule-loader.ts';
import type { RuleSet } from './rule-set.ts';

export interface RefusedChange {
  /** When it was refused (ISO 8601). */
  at: string;
  problems: string[];
  /** When the rules that stay active went live (ISO 8601). */
  activeSince: string;
}

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
  /**
   * The last change refused while older rules stayed active (for /readyz), until a change
   * passes: what is on disk is then not what runs, and a restart would start with no rules.
   */
  refusedChange(): RefusedChange | undefined;
  /** When the active rules went live (ISO 8601); undefined while none are. */
  activeSince(): string | undefined;
  /** Loads the rules for the first time and starts watching. Never throws: problems are logged. */
  start(): Promise<void>;
  /** Checks the folder now and activates it if it passes. */
  reload(): Promise<ReloadResult>;
  stop(): Promise<void>;
}

export function createMappingReloader(deps: MappingReloaderDeps): MappingReloader {
  const { mappingsDir, fixturesDir, log, metrics } = deps;
  const debounceMs = deps.debounceMs ?? 250;
  let active: RuleSet | undefined;
  let lastProblems: string[] = ['mapping rules have not been loaded yet'];
  let refused: RefusedChange | undefined;
  let activeSince = '';
  let chain: Promise<unknown> = Promise.resolve();
  let debounce: NodeJS.Timeout | undefined;
  let stopped = false;
  const watches: FolderWatch[] = [];

  // Both results exist from the start, at 0, so that increase() sees the first refused change
  // (a series that first appears at 1 has no earlier sample).
  for (const result of ['success', 'failure']) metrics.mappingReloads.inc({ result }, 0);
  metrics.onScrape(() => {
    metrics.mappingRulesActive.set(active?.rules.length ?? 0);
    metrics.mappingChangeRefused.set(refused ? 1 : 0);
  });

  async function attempt(): Promise<ReloadResult> {
    let result: ReloadResult;
    try {
      const check = await checkMappings(mappingsDir, fixturesDir);
      if (check.ok) {
        active = check.rules;
        activeSince = new Date().toISOString();
        lastProblems = [];
        refused = undefined;
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
      refused = { at: new Date().toISOString(), problems: result.problems, activeSince };
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

  function changed(): void {
    if (stopped) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void reload(), debounceMs);
    debounce.unref();
  }

  return {
    name: 'mapping reload',
    current: () => active,
    problems: () => (active ? [] : lastProblems),
    refusedChange: () => refused,
    activeSince: () => (active ? activeSince : undefined),
    async start() {
      await reload();
      if (!(deps.watch ?? true) || stopped) return;
      watches.push(
        watchFolder({ dir: mappingsDir, what: 'mappings', recursive: false, relevant: isRuleFile, onChange: changed, log }),
        // Fixtures sit two folders down (<event-type>/<case>/expected.json), hence recursive.
        watchFolder({ dir: fixturesDir, what: 'fixtures', recursive: true, relevant: isFixtureChange, onChange: changed, log }),
      );
    },
    reload,
    async stop() {
      stopped = true;
      clearTimeout(debounce);
      for (const folder of watches) folder.close();
      await chain;
    },
  };
}

/** A rule file, or one named like a rule file that the reload then refuses (`forum-event.yml`). */
function isRuleFile(filename: string): boolean {
  return (filename.endsWith(RULE_FILE_EXTENSION) || misnamedRuleFile(filename)) && filename !== OVERRIDES_FILE_NAME;
}

/** A fixture file (input, users, expected), or a case or type folder coming or going; not editor droppings. */
function isFixtureChange(filename: string): boolean {
  const name = path.basename(filename);
  if (name.startsWith('.')) return false;
  const extension = path.extname(name);
  return extension === '.json' || (extension === '' && !name.endsWith('~'));
}
