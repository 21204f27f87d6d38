import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRosterCache } from '../../src/identity/roster-cache.ts';
import { locateEventSlices } from '../../src/ingest/event-slices.ts';
import { createLogger } from '../../src/log.ts';
import { openStore, type Store } from '../../src/store/database.ts';
import type { IntakeResult } from '../../src/store/intake.ts';
import { isUnconfirmedWrite, startWriterThread, type WriterThread, type WriterThreadOptions } from '../../src/store/writer-thread.ts';
import { expectGroupCommit, sessionBatch as batch } from '../helpers/envelope-batches.ts';
import { storedInputs } from '../helpers/stored-inputs.ts';
import { fateCounts, insertTranslatedEvents } from '../helpers/translated-events.ts';

let dir: string;
let store: Store;
const threads: WriterThread[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caliper-gateway-writer-thread-'));
  store = openStore(join(dir, 'gateway.db'));
});
afterEach(async () => {
  await Promise.all(threads.splice(0).map((thread) => thread.stop()));
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: Partial<WriterThreadOptions> = {}): Promise<WriterThread> {
  const thread = await startWriterThread(store, createLogger('silent'), { autoCheckpoint: 1000, ...options });
  if (!thread) throw new Error('the writer thread did not start');
  threads.push(thread);
  return thread;
}

/** Counted on a connection of its own: what is committed, not what one connection sees. */
function count(table: string): number {
  const db = new Database(store.file, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('startWriterThread', () => {
  it('commits each envelope before its write resolves, with the counts and text of in-process intake', async () => {
    const thread = await start();
    // Read on a connection of its own: what is committed, not what one connection sees.
    const reader = new Database(store.file, { readonly: true });
    try {
      await expectGroupCommit((batch) => thread.writeEnvelope(batch), reader);
    } finally {
      reader.close();
    }
  });

  it('stores events given as bytes of the body as the exact text, and moves the body instead of copying it', async () => {
    const thread = await start();
    // A buffer with memory of its own, as the request body is.
    const body = Buffer.from(new Uint8Array(Buffer.from('{"data":[{"id":"x","n":"é😀"} , {"id" : "y"}]}')).buffer);
    const at = locateEventSlices(body, 2)!;
    const raws = [body.subarray(at[0], at[1]), body.subarray(at[2], at[3])];
    const written = { ...batch(['x', 'y']), raws, transferable: body.buffer as ArrayBuffer };
    expect(await thread.writeEnvelope(written)).toMatchObject({ stored: 2 });
    expect(body.buffer.byteLength).toBe(0);
    expect(storedInputs(store.sqlite).map((input) => input.raw)).toEqual(['{"id":"x","n":"é😀"}', '{"id" : "y"}']);
  });

  it('rolls back an envelope that fails alone and commits the others of its group', async () => {
    const thread = await start();
    const outcomes = await Promise.allSettled([
      thread.writeEnvelope(batch(['a'])),
      // A NOT NULL column left empty: this envelope's insert fails inside the group.
      thread.writeEnvelope(batch(['b'], [], null as unknown as string)),
      thread.writeEnvelope(batch(['c'])),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_NOTNULL' });
    expect(store.sqlite.prepare('SELECT source_id AS id FROM events ORDER BY seq').all()).toEqual([{ id: 'a' }, { id: 'c' }]);
  });

  it('stores an event shared with an envelope of the same group that was rolled back, not as its duplicate', async () => {
    const thread = await start();
    // Learn resent the envelope before the first copy's commit: both are in one group. The
    // first fails after inserting `x` (its second event has no text); its savepoint takes `x`
    // back, so the second copy must store `x`, or an event acknowledged with 200 is lost.
    const failing = batch(['x', 'y']);
    failing.raws[1] = null as unknown as string;
    const outcomes = await Promise.allSettled([thread.writeEnvelope(failing), thread.writeEnvelope(batch(['x']))]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'fulfilled']);
    const second = (outcomes[1] as PromiseFulfilledResult<IntakeResult>).value;
    expect(second).toMatchObject({ stored: 1, duplicates: 0 });
    expect(store.sqlite.prepare('SELECT source_id AS id, envelope_id AS envelope FROM events').all()).toEqual([{ id: 'x', envelope: second.envelopeId }]);
    expect(storedInputs(store.sqlite)).toEqual([{ seq: expect.any(Number), raw: expect.stringContaining('"id":"x"') }]);
    expect(count('envelopes')).toBe(1);
  });

  it('fails every envelope of a group whose transaction cannot start in time, writing nothing', async () => {
    const thread = await start({ busyTimeoutMs: 10, lockWaitMs: 50 });
    const other = new Database(store.file);
    other.exec('BEGIN IMMEDIATE');
    const outcomes = await Promise.allSettled([thread.writeEnvelope(batch(['a'])), thread.writeEnvelope(batch(['b']))]);
    other.exec('ROLLBACK');
    other.close();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_BUSY' });
    expect(count('events') + count('envelopes')).toBe(0);

    await expect(thread.writeEnvelope(batch(['c']))).resolves.toMatchObject({ stored: 1 });
  });

  it('keeps trying for a busy write lock until lockWaitMs has passed by the clock, whatever SQLite counted', async () => {
    // SQLite gives up after 10 ms of its own counting (as it does early when signals cut its
    // sleeps short); the thread's own clock lets the group wait for the lock to come free.
    const thread = await start({ busyTimeoutMs: 10, lockWaitMs: 10_000 });
    const other = new Database(store.file);
    other.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    setTimeout(() => {
      other.exec('ROLLBACK');
      other.close();
    }, 300);
    const outcomes = await Promise.all([thread.writeEnvelope(batch(['a'])), thread.writeEnvelope(batch(['b']))]);
    expect(outcomes).toMatchObject([{ stored: 1 }, { stored: 1 }]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(count('events')).toBe(2);
  });

  it('gives up once lockWaitMs has passed since the first try, SQLite\'s own wait included', async () => {
    // SQLite waits its busy timeout inside the first try; the thread must not start its own
    // count only then, or a lock held for good costs Learn twice the wait before its 503.
    const thread = await start({ busyTimeoutMs: 1_000, lockWaitMs: 1_000 });
    const other = new Database(store.file);
    other.exec('BEGIN IMMEDIATE');
    const release = () => {
      if (!other.open) return;
      other.exec('ROLLBACK');
      other.close();
    };
    // SQLite's wait sleeps at least the 1 s it asks for, so a count started after it is still
    // trying at 2 s and would take the lock freed just before. The first try ends after 1 s
    // plus however late the sleeps wake on a loaded machine: up to 0.9 s late still passes.
    const releasing = setTimeout(release, 1_900);
    const outcome = await thread.writeEnvelope(batch(['a'])).then(
      () => 'stored',
      (error: unknown) => (error as { code?: string }).code,
    );
    clearTimeout(releasing);
    release();
    expect(outcome).toBe('SQLITE_BUSY');
    expect(count('events')).toBe(0);
  });

  it('commits what is queued before it stops, and takes nothing after', async () => {
    const thread = await start();
    const queued = Array.from({ length: 20 }, (_, i) => thread.writeEnvelope(batch([`e${i}`])));
    await thread.stop();
    await expect(Promise.all(queued)).resolves.toHaveLength(20);
    expect(count('events')).toBe(20);
    await expect(thread.writeEnvelope(batch(['late']))).rejects.toThrow(/shutting down/);
  });

  it('says of the writes outstanding when it dies that their outcome is unknown, and commits later ones on the event loop', async () => {
    const thread = await start();
    // The one way to make the real thread die from outside: a setting its connection refuses,
    // thrown in its message handler (the gateway only ever passes a number).
    thread.setAutoCheckpoint('1 +' as unknown as number);
    const outstanding = thread.writeEnvelope(batch(['outstanding']));
    const error = await outstanding.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^the writer thread stopped \(exit code \d+\)/);
    expect(isUnconfirmedWrite(error)).toBe(true);
    // A write that was never handed to a thread has a known outcome, whatever it is.
    expect(isUnconfirmedWrite(new Error('SQLITE_FULL: database or disk is full'))).toBe(false);
    await expect(thread.writeEnvelope(batch(['after']))).resolves.toMatchObject({ stored: 1 });
    expect(count('events')).toBe(1);
  });

  it('commits translation results and delivery outcomes, in the same groups as envelopes', async () => {
    const thread = await start();
    await thread.writeEnvelope(batch(['a', 'b', 'c']));
    const seqs = (store.sqlite.prepare('SELECT seq FROM events ORDER BY seq').all() as Array<{ seq: number }>).map((row) => row.seq);
    const [a, b, c] = seqs as [number, number, number];
    const translated = await thread.recordTranslations({
      at: 2_000,
      writes: [
        { kind: 'deliver', seq: a, rule: 'r', studentId: 's', platformId: 'p', output: '{"id":"out-a"}', outputId: 'out-a' },
        { kind: 'deliver', seq: b, rule: 'r', studentId: 's', platformId: 'p', output: '{"id":"out-b"}', outputId: 'out-b' },
        { kind: 'settle', seq: c, fate: 'skipped', reason: 'no-rule', detail: 'no rule', rule: null, studentId: null },
      ],
    });
    // Which writes changed their row comes back from the thread: the workers count those.
    expect(translated).toEqual([true, true, true]);
    const readUpdatedAt = 2_000; // as the translation results above left the rows
    const outcome = { readUpdatedAt, posts: 1, startedAt: 3_000, finishedAt: 3_010, status: 200, response: '{}', nextAttemptAt: null, reason: null, detail: null };
    const [delivered, , dead] = await Promise.all([
      thread.recordDeliveries([{ seq: a, fate: 'delivered', ...outcome }]),
      thread.writeEnvelope(batch(['d'])),
      thread.recordDeliveries([{ seq: b, fate: 'dead', ...outcome, status: 400, reason: 'http-400', detail: 'refused' }]),
    ]);
    expect([delivered, dead]).toEqual([[true], [true]]);
    // A result for a row settled already (c, skipped) is left alone, and said so.
    expect(await thread.recordDeliveries([{ seq: c, fate: 'delivered', ...outcome }])).toEqual([false]);
    expect(store.sqlite.prepare('SELECT source_id AS id, fate, stage, reason, output_id AS outputId FROM events ORDER BY seq').all()).toEqual([
      { id: 'a', fate: 'delivered', stage: null, reason: null, outputId: 'out-a' },
      { id: 'b', fate: 'dead', stage: null, reason: 'http-400', outputId: 'out-b' },
      { id: 'c', fate: 'skipped', stage: null, reason: 'no-rule', outputId: null },
      { id: 'd', fate: 'pending', stage: 'translate', reason: null, outputId: null },
    ]);
  });

  it('commits a roster answer only when no eviction came since its lookup began, on any connection', async () => {
    const thread = await start();
    const cache = createRosterCache(store);
    const answer = (externalId: string, generation: number) => ({
      entry: { externalId, platformId: null, outcome: 'not-found' as const, strategy: null, detail: 'no match', learnedAt: 1_000 },
      generation,
    });
    const begun = cache.generation();
    expect(await thread.recordRosterAnswer(answer('ada.l', begun))).toBe(true);
    expect(cache.get('ada.l')).toMatchObject({ outcome: 'not-found', learnedAt: 1_000 });

    // An eviction by another process (the roster-cache command) while a lookup was in flight.
    const other = openStore(store.file);
    try {
      expect(createRosterCache(other).evict(['ada.l'])).toEqual(['ada.l']);
    } finally {
      other.close();
    }
    expect(await thread.recordRosterAnswer(answer('ada.l', begun))).toBe(false);
    expect(await thread.recordRosterAnswer(answer('kid@school.test', begun))).toBe(false);
    expect(count('roster_cache')).toBe(0);
    expect(await thread.recordRosterAnswer(answer('kid@school.test', cache.generation()))).toBe(true);
    expect(count('roster_cache')).toBe(1);
  });

  it("commits retention's batches: events past the cutoff, then envelopes left empty", async () => {
    const thread = await start();
    // An old envelope of duplicates only, which no event deletion empties: the sweep's to take.
    const duplicates = Number(
      store.sqlite
        .prepare(
          `INSERT INTO envelopes (sensor, send_time, received_at, event_count, stored_count, rejected_count, duplicate_count, bytes)
           VALUES ('s', '2026-11-01T00:00:00Z', 1500, 1, 0, 0, 1, 400)`,
        )
        .run().lastInsertRowid,
    );
    // Three old envelopes of one event (an input batch each: retention takes a batch's events together).
    for (let i = 0; i < 3; i += 1) insertTranslatedEvents(store.sqlite, 1, { fate: 'delivered', deliveredAt: 1_000, receivedAt: 1_000 });
    insertTranslatedEvents(store.sqlite, 1, { fate: 'delivered', deliveredAt: 5_000, receivedAt: 5_000 });
    expect(await thread.pruneRetention({ kind: 'delivered', cutoff: 2_000, limit: 2 })).toEqual({ events: 2, envelopes: 2, done: false });
    expect(await thread.pruneRetention({ kind: 'delivered', cutoff: 2_000, limit: 2 })).toEqual({ events: 1, envelopes: 1, done: true });
    expect(fateCounts(store.sqlite)).toEqual({ delivered: 1 });
    expect(count('envelopes')).toBe(2);
    expect(await thread.pruneRetention({ kind: 'envelopes', afterId: 0, cutoff: 2_000, limit: 10 })).toEqual({ events: 0, envelopes: 1, done: true, lastId: duplicates });
    expect(count('envelopes')).toBe(1);
  });

  it('does not start for an in-memory database, which another connection cannot share', async () => {
    store.close();
    store = openStore(':memory:');
    expect(await startWriterThread(store, createLogger('silent'), { autoCheckpoint: 1000 })).toBeUndefined();
  });
});
