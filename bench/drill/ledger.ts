/**
 * The drill's definition of "zero lost", checked event by event after a scenario settles.
 *
 * What should happen to each event is worked out independently of the gateway's database:
 * the events the sender got a 200 for are translated here, in the drill's own process, with
 * the shipped rules and the roster as a fixed table (the same code path `caliper-gateway
 * translate --users` uses). Then, for every acknowledged event:
 *
 * - the database holds exactly one row for it (sensor + id), and its fate is final;
 * - an event that translates to a TimeBack event is `delivered`, under the expected output
 *   id, and TimeBack received that id at least once, every copy byte-identical to what the
 *   rules produce (a repeat is a duplicate, allowed and counted; a different body is not);
 * - an event that does not (a student TimeBack does not know) has that fate and reason.
 *
 * Anything else counts as lost, with the reason.
 */
import Database from 'better-sqlite3';
import { staticIdentity } from '../../src/identity/identity-resolver.ts';
import { loadRules } from '../../src/mapping/rule-loader.ts';
import { translate, type TranslateOutcome } from '../../src/mapping/translate.ts';

export interface LedgerInput {
  dbPath: string;
  mappingsDir: string;
  appId: string;
  sensor: string;
  /** Every event sent, by id, as the sender built it. */
  sent: ReadonlyMap<string, unknown>;
  acknowledged: ReadonlySet<string>;
  /** The roster as `{ externalId: platformId }`. */
  roster: Readonly<Record<string, string>>;
  /** Every event body TimeBack answered 2xx to, in arrival order. */
  received: readonly unknown[];
}

export interface Ledger {
  sent: number;
  acknowledged: number;
  /** Acknowledged events TimeBack received (each counted once). */
  delivered: number;
  /** Acknowledged events settled as not for TimeBack (skipped or rejected, as expected). */
  notForTimeback: number;
  /** Those by fate and reason, e.g. `skipped/user-not-in-timeback`. */
  notForTimebackBecause: Record<string, number>;
  /** Extra copies TimeBack received of events it already had, all identical. */
  duplicates: number;
  lost: number;
  /** Why events were lost, with a count each. */
  lostBecause: Record<string, number>;
  /** Events TimeBack received that no acknowledged event accounts for. */
  unexpected: number;
  /** A few lost event ids with their reason, for digging in. */
  examples: string[];
}

export async function settleLedger(input: LedgerInput): Promise<Ledger> {
  const expected = await expectedOutcomes(input);
  const rows = storedRows(input.dbPath, input.sensor);
  const copies = receivedCopies(input.received);

  const ledger: Ledger = {
    sent: input.sent.size,
    acknowledged: input.acknowledged.size,
    delivered: 0,
    notForTimeback: 0,
    notForTimebackBecause: {},
    duplicates: 0,
    lost: 0,
    lostBecause: {},
    unexpected: 0,
    examples: [],
  };
  const lose = (id: string, because: string) => {
    ledger.lost += 1;
    ledger.lostBecause[because] = (ledger.lostBecause[because] ?? 0) + 1;
    if (ledger.examples.length < 5) ledger.examples.push(`${id}: ${because}`);
  };

  const accounted = new Set<string>();
  for (const id of input.acknowledged) {
    const outcome = expected.get(id)!;
    const row = rows.get(id);
    if (!row) {
      lose(id, 'not stored');
      continue;
    }
    if (row.copies > 1) {
      lose(id, `stored ${row.copies} times`);
      continue;
    }
    if (row.fate === 'pending') {
      lose(id, `still pending (${row.stage})`);
      continue;
    }
    if (outcome.fate === 'retry') throw new Error('a fixed roster table always answers');
    if (outcome.fate !== 'deliver') {
      if (row.fate === outcome.fate && row.reason === outcome.reason) {
        const because = `${row.fate}/${row.reason}`;
        ledger.notForTimeback += 1;
        ledger.notForTimebackBecause[because] = (ledger.notForTimebackBecause[because] ?? 0) + 1;
      } else lose(id, `${row.fate}/${row.reason}, expected ${outcome.fate}/${outcome.reason}`);
      continue;
    }
    if (row.fate !== 'delivered') {
      lose(id, `${row.fate}/${row.reason ?? ''}, expected delivered`);
      continue;
    }
    if (row.outputId !== outcome.outputId) {
      lose(id, 'delivered under another output id');
      continue;
    }
    accounted.add(outcome.outputId);
    const bodies = copies.get(outcome.outputId);
    if (!bodies) {
      lose(id, 'marked delivered, never received by TimeBack');
      continue;
    }
    const body = JSON.stringify(outcome.event);
    if (bodies.some((copy) => copy !== body)) {
      lose(id, 'TimeBack received a different body under its id');
      continue;
    }
    ledger.delivered += 1;
    ledger.duplicates += bodies.length - 1;
  }
  for (const id of copies.keys()) if (!accounted.has(id)) ledger.unexpected += 1;
  return ledger;
}

async function expectedOutcomes(input: LedgerInput): Promise<Map<string, TranslateOutcome>> {
  const rules = await loadRules(input.mappingsDir);
  const identity = staticIdentity(input.roster);
  const ids = [...input.acknowledged];
  const outcomes = new Map<string, TranslateOutcome>();
  for (let at = 0; at < ids.length; at += 1_000) {
    const chunk = ids.slice(at, at + 1_000);
    const results = await translate(
      chunk.map((id) => ({ sensor: input.sensor, event: input.sent.get(id) })),
      { rules, identity, appId: input.appId },
    );
    chunk.forEach((id, i) => outcomes.set(id, results[i]!));
  }
  return outcomes;
}

interface StoredRow {
  /** Rows with this sensor and id: one, or the unique index has failed us. */
  copies: number;
  fate: string;
  stage: string | null;
  reason: string | null;
  outputId: string | null;
}

function storedRows(dbPath: string, sensor: string): Map<string, StoredRow> {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db
      .prepare('SELECT source_id AS id, fate, stage, reason, output_id AS outputId FROM events WHERE sensor = ?')
      .all(sensor) as Array<Omit<StoredRow, 'copies'> & { id: string }>;
    const byId = new Map<string, StoredRow>();
    for (const row of rows) {
      const seen = byId.get(row.id);
      if (seen) seen.copies += 1;
      else byId.set(row.id, { ...row, copies: 1 });
    }
    return byId;
  } finally {
    db.close();
  }
}

/** Each received event's id → every copy's body, re-serialised the same way the gateway serialises. */
function receivedCopies(received: readonly unknown[]): Map<string, string[]> {
  const copies = new Map<string, string[]>();
  for (const event of received) {
    const id = (event as { id?: unknown }).id;
    if (typeof id !== 'string') continue;
    const list = copies.get(id);
    const body = JSON.stringify(event);
    if (list) list.push(body);
    else copies.set(id, [body]);
  }
  return copies;
}
