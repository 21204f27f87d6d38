import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { createRetention, type RetentionBatch } from '../../src/deliver/retention.ts';
import { createLogger } from '../../src/log.ts';
import { replayEvents, unreplayedIds } from '../../src/store/replay.ts';
import { unpackInputs, type InputBatch } from '../../src/store/input-batches.ts';
import { openStore } from '../../src/store/database.ts';
import { createIntake } from '../../src/store/intake.ts';
import { FATES } from '../../src/store/schema.ts';
import { startWriterThread } from '../../src/store/writer-thread.ts';
import { inputBatchCount, storedInputs } from '../helpers/stored-inputs.ts';
import { sessionBatch } from '../helpers/envelope-batches.ts';
import { makeTempDir } from '../helpers/identity-harness.ts';
import { OLD_SCHEMAS, seedEveryFate } from '../helpers/old-databases.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { fateCounts, insertTranslatedEvents } from '../helpers/translated-events.ts';

let db: ReturnType<typeof tempStore>;
beforeEach(() => {
  db = tempStore('retention-');
});
afterEach(() => db.cleanup());

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-20T00:00:00Z');

function retention(batchSize = 1_000, env: Record<string, string> = {}) {
  const config = parseConfig({ DB_PATH: db.file, DELIVERED_RETENTION: String(7 * 86_400), ...env });
  return createRetention({ config, store: db.store, log: createLogger('silent'), now: () => NOW, batchSize });
}

/** The seqs of every input held in a batch, whether or not its event is still stored. */
const batchedSeqs = () =>
  (db.store.sqlite.prepare('SELECT first_seq AS firstSeq, last_seq AS lastSeq, codec, data FROM event_input_batches').all() as InputBatch[])
    .flatMap((batch) => [...unpackInputs(batch).keys()])
    .sort((a, b) => a - b);

const oldSchema = (tag: string) => OLD_SCHEMAS.find((schema) => schema.name === `migrations up to ${tag}`)!;

const envelopeIds = () =>
  (db.store.sqlite.prepare('SELECT id FROM envelopes ORDER BY id').all() as Array<{ id: number }>).map((row) => row.id);

describe('retention', () => {
  it('commits its batches on the writer thread: a pass waiting for a write lock held elsewhere does not hold up the event loop', async () => {
    const old = NOW - 10 * DAY;
    insertTranslatedEvents(db.store.sqlite, 5, { fate: 'delivered', deliveredAt: old, receivedAt: old });
    // Waits for the lock as long as the test may need: only releasing it ends the pass.
    const thread = await startWriterThread(db.store, createLogger('silent'), { autoCheckpoint: 1000, lockWaitMs: 600_000 });
    const locker = new Database(db.file);
    try {
      if (!thread) throw new Error('the writer thread did not start');
      let handedOver!: () => void;
      const writing = new Promise<void>((resolve) => (handedOver = resolve));
      const writer = {
        pruneRetention(batch: RetentionBatch) {
          handedOver();
          return thread.pruneRetention(batch);
        },
      };
      const config = parseConfig({ DB_PATH: db.file, DELIVERED_RETENTION: String(7 * 86_400) });
      const pruner = createRetention({ config, store: db.store, log: createLogger('silent'), now: () => NOW, writer });
      // Another connection (a 5,000-event envelope's commit, the replay command) holds the lock.
      locker.exec('BEGIN IMMEDIATE');
      let settled = false;
      const pass = pruner.runOnce().finally(() => {
        settled = true;
      });
      await writing;
      // The first batch waits for the lock on the thread; meanwhile the event loop runs timers
      // and reads (nothing pruned yet).
      await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(false);
      expect(fateCounts(db.store.sqlite)).toEqual({ delivered: 5 });

      locker.exec('ROLLBACK');
      expect(await pass).toEqual({ events: 5, skipped: 0, envelopes: 1 });
      expect(fateCounts(db.store.sqlite)).toEqual({});
      expect(envelopeIds()).toEqual([]);
    } finally {
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
      await thread?.stop();
    }
  });

  it('prunes only delivered events older than the retention, and envelopes left empty', async () => {
    const old = NOW - 10 * DAY;
    insertTranslatedEvents(db.store.sqlite, 5, { fate: 'delivered', deliveredAt: old, receivedAt: old });
    const recent = insertTranslatedEvents(db.store.sqlite, 3, { fate: 'delivered', deliveredAt: NOW - DAY, receivedAt: NOW - DAY });
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400', receivedAt: old });
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'skipped', reason: 'no-rule', receivedAt: old });
    insertTranslatedEvents(db.store.sqlite, 2, { receivedAt: old });
    const [oldDeliveredEnvelope, ...keptEnvelopes] = envelopeIds();

    const report = await retention().runOnce();

    expect(report).toEqual({ events: 5, skipped: 0, envelopes: 1 });
    expect(fateCounts(db.store.sqlite)).toEqual({ delivered: 3, dead: 2, skipped: 2, pending: 2 });
    expect(envelopeIds()).toEqual(keptEnvelopes);
    expect(envelopeIds()).not.toContain(oldDeliveredEnvelope);
    const remaining = db.store.sqlite.prepare(`SELECT seq FROM events WHERE fate = 'delivered' ORDER BY seq`).all() as Array<{ seq: number }>;
    expect(remaining.map((row) => row.seq)).toEqual(recent.map((event) => event.seq));
  });

  it('keeps an envelope while any of its events remains', async () => {
    const old = NOW - 10 * DAY;
    const [first] = insertTranslatedEvents(db.store.sqlite, 3, { fate: 'delivered', deliveredAt: old, receivedAt: old });
    db.store.sqlite.prepare(`UPDATE events SET fate = 'dead', reason = 'http-400', delivered_at = NULL WHERE seq = ?`).run(first!.seq);
    const report = await retention().runOnce();
    expect(report).toEqual({ events: 2, skipped: 0, envelopes: 0 });
    expect(envelopeIds()).toHaveLength(1);
  });

  it("deletes pruned events' inputs from the batches of an envelope that keeps other events", async () => {
    const old = NOW - 10 * DAY;
    // 300 events: two batches. The dead one sits in the second, the skipped one in the first.
    const stored = insertTranslatedEvents(db.store.sqlite, 300, { fate: 'delivered', deliveredAt: old, receivedAt: old });
    const dead = stored[280]!.seq;
    const skipped = stored[3]!.seq;
    db.store.sqlite.prepare(`UPDATE events SET fate = 'dead', reason = 'http-400', delivered_at = NULL WHERE seq = ?`).run(dead);
    db.store.sqlite.prepare(`UPDATE events SET fate = 'skipped', reason = 'no-rule', delivered_at = NULL WHERE seq = ?`).run(skipped);
    expect(inputBatchCount(db.store.sqlite)).toBe(2);

    const report = await retention(100).runOnce();

    expect(report).toEqual({ events: 298, skipped: 0, envelopes: 0 });
    // A delivered event's input (a student's activity) is kept no longer than the event.
    expect(batchedSeqs()).toEqual([skipped, dead]);
    expect(storedInputs(db.store.sqlite)).toEqual([
      { seq: skipped, raw: expect.stringContaining(stored[3]!.sourceId) },
      { seq: dead, raw: expect.stringContaining(stored[280]!.sourceId) },
    ]);

    // Once the last of them goes, so does the envelope, with what is left of its inputs.
    db.store.sqlite.prepare(`UPDATE events SET fate = 'delivered', delivered_at = ? WHERE seq IN (?, ?)`).run(old, skipped, dead);
    expect(await retention().runOnce()).toEqual({ events: 2, skipped: 0, envelopes: 1 });
    expect(inputBatchCount(db.store.sqlite)).toBe(0);
  });

  it("rewrites each input batch once a pass, however the envelopes' events were delivered in turn", async () => {
    const old = NOW - 10 * DAY;
    // Two envelopes of 300 events (two batches each), delivered alternately, as retries or a
    // roster outage leave them; each batch keeps one dead event, so none goes whole.
    const envelopes = [1, 2].map(() => insertTranslatedEvents(db.store.sqlite, 300, { fate: 'delivered', receivedAt: old }));
    const deliveredAt = db.store.sqlite.prepare('UPDATE events SET delivered_at = ? WHERE seq = ?');
    const kill = db.store.sqlite.prepare(`UPDATE events SET fate = 'dead', reason = 'http-400', delivered_at = NULL WHERE seq = ?`);
    const dead = envelopes.flatMap((events) => [events[10]!.seq, events[290]!.seq]);
    db.store.sqlite.transaction(() => {
      envelopes.forEach((events, e) => events.forEach((event, i) => deliveredAt.run(old + 2 * i + e, event.seq)));
      for (const seq of dead) kill.run(seq);
    })();
    expect(inputBatchCount(db.store.sqlite)).toBe(4);
    db.store.sqlite.exec(`
      CREATE TEMP TABLE rewrites (first_seq INTEGER);
      CREATE TEMP TRIGGER count_rewrites AFTER INSERT ON main.event_input_batches
      BEGIN INSERT INTO rewrites VALUES (new.first_seq); END`);

    // 50 events a transaction: taken strictly oldest first, each would reach into both envelopes.
    const report = await retention(50).runOnce();

    expect(report).toEqual({ events: 596, skipped: 0, envelopes: 0 });
    expect(db.store.sqlite.prepare('SELECT count(*) FROM rewrites').pluck().get()).toBe(4);
    expect(batchedSeqs()).toEqual(dead);
  });

  it('on a database upgraded from 0006, prunes inputs of both kinds: legacy rows with their event, batches with theirs', async () => {
    const upgraded = makeTempDir('retention-upgrade-');
    try {
      const file = join(upgraded.dir, 'gateway.db');
      oldSchema('0006_settled_ids_index').create(file);
      const seeded = seedEveryFate(file);
      const store = openStore(file);
      try {
        const written = await createIntake(store).write(sessionBatch(['new-1', 'new-2', 'new-3']));
        const [kept, ...pruned] = store.sqlite.prepare('SELECT seq FROM events WHERE envelope_id = ? ORDER BY seq').pluck().all(written.envelopeId) as number[];
        const old = NOW - 10 * DAY;
        store.sqlite.prepare(`UPDATE events SET fate = 'delivered', stage = NULL, delivered_at = ? WHERE seq IN (?, ?, ?)`).run(old, seeded.delivered.seq, ...pruned);
        store.sqlite.prepare(`UPDATE events SET fate = 'dead', reason = 'http-400', stage = NULL WHERE seq = ?`).run(kept);
        const legacyRows = () => store.sqlite.prepare('SELECT seq FROM event_inputs ORDER BY seq').pluck().all();
        expect(legacyRows()).toEqual(seeded.all.map((event) => event.seq));

        const config = parseConfig({ DB_PATH: file, DELIVERED_RETENTION: String(7 * 86_400) });
        const report = await createRetention({ config, store, log: createLogger('silent'), now: () => NOW }).runOnce();

        expect(report).toEqual({ events: 3, skipped: 0, envelopes: 0 });
        expect(legacyRows()).toEqual(seeded.all.filter((event) => event !== seeded.delivered).map((event) => event.seq));
        expect(storedInputs(store.sqlite)).toEqual([
          ...seeded.all.filter((event) => event !== seeded.delivered).map((event) => ({ seq: event.seq, raw: event.input })),
          { seq: kept, raw: '{"id":"new-1","note":"ünïcode ✓"}' },
        ]);
        expect(inputBatchCount(store.sqlite)).toBe(1);

        // The new envelope's last event goes, and its batch with it; the old one keeps its events.
        store.sqlite.prepare(`UPDATE events SET fate = 'delivered', delivered_at = ? WHERE seq = ?`).run(old, kept);
        expect(await createRetention({ config, store, log: createLogger('silent'), now: () => NOW }).runOnce()).toEqual({ events: 1, skipped: 0, envelopes: 1 });
        expect(inputBatchCount(store.sqlite)).toBe(0);
        expect(legacyRows()).toHaveLength(seeded.all.length - 1);
      } finally {
        store.close();
      }
    } finally {
      upgraded.remove();
    }
  });

  it('on a database upgraded from 0007, rewrites a deflated batch without the pruned events, the rest still read', async () => {
    const upgraded = makeTempDir('retention-upgrade-');
    try {
      const file = join(upgraded.dir, 'gateway.db');
      oldSchema('0007_input_batches').create(file);
      const seeded = seedEveryFate(file);
      const store = openStore(file);
      try {
        const codecs = () => store.sqlite.prepare('SELECT codec FROM event_input_batches').pluck().all();
        expect(codecs()).toEqual(['deflate-raw']);
        store.sqlite.prepare('UPDATE events SET delivered_at = ? WHERE seq = ?').run(NOW - 10 * DAY, seeded.delivered.seq);

        const config = parseConfig({ DB_PATH: file, DELIVERED_RETENTION: String(7 * 86_400) });
        expect(await createRetention({ config, store, log: createLogger('silent'), now: () => NOW }).runOnce()).toEqual({ events: 1, skipped: 0, envelopes: 0 });

        expect(storedInputs(store.sqlite)).toEqual(seeded.all.filter((event) => event !== seeded.delivered).map((event) => ({ seq: event.seq, raw: event.input })));
        expect(codecs()).toEqual(['brotli']);
      } finally {
        store.close();
      }
    } finally {
      upgraded.remove();
    }
  });

  it('removes old envelopes that never had a stored event (all duplicates)', async () => {
    db.store.sqlite
      .prepare(
        `INSERT INTO envelopes (sensor, send_time, received_at, event_count, stored_count, rejected_count, duplicate_count, bytes)
         VALUES ('s', '2026-11-01T00:00:00Z', ?, 2, 0, 0, 2, 900), ('s', '2026-11-19T00:00:00Z', ?, 1, 0, 0, 1, 400)`,
      )
      .run(NOW - 10 * DAY, NOW - DAY);
    expect(await retention().runOnce()).toEqual({ events: 0, skipped: 0, envelopes: 1 });
    expect(envelopeIds()).toHaveLength(1);
  });

  it('sweeps envelopes in the order received, stopping at the first one not yet old enough, and takes it once it is', async () => {
    const insert = db.store.sqlite.prepare(
      `INSERT INTO envelopes (sensor, send_time, received_at, event_count, stored_count, rejected_count, duplicate_count, bytes)
       VALUES ('s', '2026-11-01T00:00:00Z', ?, 1, 0, 0, 1, 400)`,
    );
    // All duplicates. A large envelope is stored after a smaller one received later, so ids
    // and receipt times disagree by a moment; here the second is a day older than the first.
    const young = Number(insert.run(NOW - 6.5 * DAY).lastInsertRowid);
    const older = Number(insert.run(NOW - 7.5 * DAY).lastInsertRowid);
    const recent = Number(insert.run(NOW - DAY).lastInsertRowid);
    let now = NOW;
    const config = parseConfig({ DB_PATH: db.file, DELIVERED_RETENTION: String(7 * 86_400) });
    const pruner = createRetention({ config, store: db.store, log: createLogger('silent'), now: () => now });

    await pruner.runOnce();
    // The first envelope not old enough ends the sweep until a later pass.
    expect(envelopeIds()).toEqual([young, older, recent]);
    now = NOW + DAY;
    expect(await pruner.runOnce()).toEqual({ events: 0, skipped: 0, envelopes: 2 });
    expect(envelopeIds()).toEqual([recent]);
  });

  it('works through large backlogs in batches', async () => {
    const old = NOW - 30 * DAY;
    for (let i = 0; i < 5; i += 1) insertTranslatedEvents(db.store.sqlite, 500, { fate: 'delivered', deliveredAt: old, receivedAt: old });
    expect(await retention(300).runOnce()).toEqual({ events: 2_500, skipped: 0, envelopes: 5 });
    expect(fateCounts(db.store.sqlite)).toEqual({});
  });

  it('with SKIPPED_RETENTION, prunes skipped events skipped before it, and their emptied envelopes', async () => {
    const old = NOW - 40 * DAY;
    const skippedLongAgo = insertTranslatedEvents(db.store.sqlite, 3, { fate: 'skipped', reason: 'rule-skips', receivedAt: old });
    const skippedLately = insertTranslatedEvents(db.store.sqlite, 2, { fate: 'skipped', reason: 'no-rule', receivedAt: old });
    // Received long ago, but skipped again after a replay last week: its time counts from then.
    db.store.sqlite.prepare('UPDATE events SET updated_at = ? WHERE seq IN (?, ?)').run(NOW - 7 * DAY, skippedLately[0]!.seq, skippedLately[1]!.seq);
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'dead', reason: 'http-400', receivedAt: old });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'rejected', reason: 'invalid-event', receivedAt: old });
    const [skippedEnvelope, ...keptEnvelopes] = envelopeIds();

    // By default skipped events are kept for good.
    expect(await retention().runOnce()).toEqual({ events: 0, skipped: 0, envelopes: 0 });
    const report = await retention(1, { SKIPPED_RETENTION: String(30 * 86_400) }).runOnce();

    expect(report).toEqual({ events: 0, skipped: skippedLongAgo.length, envelopes: 1 });
    expect(fateCounts(db.store.sqlite)).toEqual({ skipped: 2, dead: 2, rejected: 1 });
    expect(envelopeIds()).toEqual(keptEnvelopes);
    expect(envelopeIds()).not.toContain(skippedEnvelope);
    // The pruned envelope's inputs went with it; the others' stay readable.
    expect(inputBatchCount(db.store.sqlite)).toBe(keptEnvelopes.length);
    expect(storedInputs(db.store.sqlite).map((input) => input.raw)).toEqual(Array(5).fill(expect.any(String)));
  });

  it('never prunes a skipped event replayed between two of its batches, and a replay never finds a pruned one', async () => {
    const old = NOW - 40 * DAY;
    // Three envelopes, so three input batches, and one row per retention batch: the pass
    // deletes the first, then yields to the event loop, where the admin's replay (POST
    // /admin/replay) runs before the next batch.
    const [first, ...rest] = [1, 2, 3].flatMap(() =>
      insertTranslatedEvents(db.store.sqlite, 1, { fate: 'skipped', reason: 'user-not-in-timeback', receivedAt: old }),
    );
    const pass = retention(1, { SKIPPED_RETENTION: String(30 * 86_400) }).runOnce();
    // Microtasks only: the first batch runs within them, the next waits for setImmediate.
    for (let turns = 0; fateCounts(db.store.sqlite).skipped === 3; turns += 1) {
      if (turns > 1_000) throw new Error('the first batch did not run');
      await Promise.resolve();
    }
    expect(fateCounts(db.store.sqlite).skipped).toBe(2);
    const filter = { ids: [first!.seq, ...rest.map((event) => event.seq)] };
    const replayed = replayEvents(db.store, filter, NOW);
    expect(replayed.map((event) => event.seq)).toEqual(rest.map((event) => event.seq));
    expect(unreplayedIds(db.store, filter, replayed)).toEqual([{ id: first!.seq, fates: [], lookedIn: FATES }]);

    expect(await pass).toMatchObject({ skipped: 1 });
    // The replayed events are pending again, with their inputs, whatever their old skip time.
    expect(fateCounts(db.store.sqlite)).toEqual({ pending: 2 });
    expect(storedInputs(db.store.sqlite).map((input) => input.raw)).toEqual([expect.any(String), expect.any(String)]);
  });
});
