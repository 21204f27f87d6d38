/**
 * What /readyz says: whether the gateway can do its job, and if not, why, in words an operator
 * can act on. Gathered from the stages at request time; server.ts hands in the started parts.
 */
import type { Config } from '../config.ts';
import type { DeliveryWorker } from '../deliver/delivery-worker.ts';
import type { CachedRosterResolver } from '../identity/cached-roster-resolver.ts';
import type { MappingReloader } from '../mapping/mapping-reloader.ts';
import type { TranslateWorker } from '../mapping/translate-worker.ts';
import { isStoreUsable, type Store } from '../store/database.ts';
import type { Readiness, ReadinessReport, TranslationStatus } from './ops-routes.ts';

export interface ReadinessParts {
  config: Config;
  store: Store;
  shuttingDown: () => boolean;
  /** The last envelope commit's failure, while it is recent. */
  envelopeWriteFailure: () => { at: number; message: string } | undefined;
  /** The delivery settings that are not set (missingDeliverySettings). */
  missingDelivery: readonly string[];
  delivery: Pick<DeliveryWorker, 'problems' | 'status'>;
  identity: Pick<CachedRosterResolver, 'problems' | 'rosterStatus' | 'waitingFor'>;
  translation: Pick<TranslateWorker, 'problems'>;
  mappings: Pick<MappingReloader, 'current' | 'problems' | 'refusedChange'>;
}

export function createReadiness(parts: ReadinessParts): Readiness {
  const { config, store, delivery, identity, translation, mappings, missingDelivery } = parts;

  const translationStatus = (): TranslationStatus => {
    const rules = mappings.current()?.rules.length ?? 0;
    const problems = mappings.problems();
    if (problems.length > 0) return { state: 'waiting-for-rules', rules, problems: problems.slice(0, 5) };
    const refused = mappings.refusedChange();
    const refusedChange = refused ? { refusedChange: { at: refused.at, problems: refused.problems.slice(0, 5) } } : {};
    // Without these translation settles what it can and holds the events to send (translate-worker.ts).
    if (!config.timeback.appId) return { state: 'waiting-for-app-id', rules, ...refusedChange };
    return { state: identity.waitingFor() ? 'waiting-for-credentials' : 'running', rules, ...refusedChange };
  };

  return async (): Promise<ReadinessReport> => {
    const reasons: string[] = [];
    if (parts.shuttingDown()) reasons.push('shutting down');
    if (!isStoreUsable(store)) reasons.push(`database ${config.dbPath} is not usable`);
    const writeFailure = parts.envelopeWriteFailure();
    if (writeFailure) {
      reasons.push(
        `database ${config.dbPath} could not store the last envelope (${writeFailure.message}, at ${new Date(writeFailure.at).toISOString()}); POST /caliper answers 503 until a commit succeeds`,
      );
    }
    if (missingDelivery.length > 0) reasons.push(`delivery waits for ${missingDelivery.join(', ')}`);
    reasons.push(...delivery.problems(), ...identity.problems(), ...translation.problems());
    const state = translationStatus();
    // Without rules nothing reaches TimeBack, however well delivery is configured. (The app
    // id and credentials that translation also waits for are named above already.)
    if (state.state === 'waiting-for-rules') {
      // The first problem, with its first detail when it is a heading ("fixture x fails:").
      const [first = 'see translation.problems', detail] = state.problems ?? [];
      const problem = first.endsWith(':') && detail ? `${first} ${detail.trim()}` : first;
      reasons.push(`translation waits for mapping rules that load and pass their fixtures (${problem})`);
    }
    return { ready: reasons.length === 0, reasons, delivery: delivery.status(), translation: state, roster: identity.rosterStatus() };
  };
}
