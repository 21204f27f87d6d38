import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OUTBOX_SQL } from '../../src/deliver/outbox.ts';
import { registerQueueGauges } from '../../src/deliver/queue-gauges.ts';
import { RETENTION_SQL } from '../../src/deliver/retention.ts';
import { createMetrics } from '../../src/metrics.ts';
import { GAUGE_SQL } from '../../src/store/event-queries.ts';
import { tempStore } from '../helpers/temp-store.ts';
import { insertTranslatedEvents } from '../helpers/translated-events.ts';

let db: ReturnType<typeof tempStore>;
beforeEach(() => {
  db = tempStore('queue-gauges-');
});
afterEach(() => db.cleanup());

const NOW = Date.parse('2026-11-20T00:00:00Z');

describe('queue gauges', () => {
  it('report depth by stage, oldest waiting age and events by fate at scrape time', async () => {
    const metrics = createMetrics();
    registerQueueGauges(metrics, db.store, { now: () => NOW });
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'delivered', deliveredAt: NOW - 500_000, receivedAt: NOW - 900_000 });
    insertTranslatedEvents(db.store.sqlite, 3, { receivedAt: NOW - 120_000 });
    insertTranslatedEvents(db.store.sqlite, 1, { stage: 'translate', receivedAt: NOW - 60_000 });
    insertTranslatedEvents(db.store.sqlite, 1, { fate: 'dead', reason: 'http-400' });

    const text = await metrics.render();
    expect(text).toContain('caliper_gateway_queue_depth{stage="deliver"} 3');
    expect(text).toContain('caliper_gateway_queue_depth{stage="translate"} 1');
    expect(text).toContain('caliper_gateway_oldest_waiting_age_seconds 120');
    expect(text).toContain('caliper_gateway_events{fate="delivered"} 2');
    expect(text).toContain('caliper_gateway_events{fate="pending"} 4');
    expect(text).toContain('caliper_gateway_events{fate="dead"} 1');
    expect(text).toContain('caliper_gateway_events{fate="skipped"} 0');
  });

  it('says 0 for the oldest age when nothing waits', async () => {
    const metrics = createMetrics();
    registerQueueGauges(metrics, db.store, { now: () => NOW });
    expect(await metrics.render()).toContain('caliper_gateway_oldest_waiting_age_seconds 0');
  });

  it('says 0, not a negative age, for events received after now (a clock set back)', async () => {
    const metrics = createMetrics();
    registerQueueGauges(metrics, db.store, { now: () => NOW });
    insertTranslatedEvents(db.store.sqlite, 1, { receivedAt: NOW + 30_000 });
    expect(await metrics.render()).toContain('caliper_gateway_oldest_waiting_age_seconds 0\n');
  });

  it('take events by fate from the counter they are given, and from the store when it fails', async () => {
    insertTranslatedEvents(db.store.sqlite, 2, { fate: 'delivered', deliveredAt: NOW - 1_000 });
    const fromThread = { pending: 7, delivered: 11, skipped: 0, rejected: 0, dead: 1 };
    const given = createMetrics();
    registerQueueGauges(given, db.store, { now: () => NOW, countByFate: async () => fromThread });
    const text = await given.render();
    expect(text).toContain('caliper_gateway_events{fate="delivered"} 11');
    expect(text).toContain('caliper_gateway_events{fate="dead"} 1');

    const failing = createMetrics();
    registerQueueGauges(failing, db.store, { now: () => NOW, countByFate: () => Promise.reject(new Error('thread gone')) });
    const fallback = await failing.render();
    expect(fallback).toContain('caliper_gateway_events{fate="delivered"} 2');
    expect(fallback).toContain('caliper_gateway_events{fate="dead"} 0');
  });
});

describe('query plans', () => {
  const plan = (sql: string, ...params: unknown[]) =>
    (db.store.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>)
      .map((row) => row.detail)
      .join(' | ');
  const TABLE_SCAN = /SCAN events(?! USING)/;

  it('delivery reads due rows and the next retry time from the pending index only', () => {
    const due = plan(OUTBOX_SQL.due, 1, 1);
    expect(due.match(/SEARCH events USING (COVERING )?INDEX events_pending_due/g)).toHaveLength(2);
    expect(due).not.toMatch(TABLE_SCAN);
    expect(plan(OUTBOX_SQL.nextDue, 1)).toContain('events_pending_due');
    expect(plan(OUTBOX_SQL.record.replaceAll(/@\w+/g, '1'))).toContain('USING INTEGER PRIMARY KEY');
    // Each event and its body, by rowid.
    const load = plan(OUTBOX_SQL.load, '[1, 2]');
    expect(load).toMatch(/SEARCH e USING INTEGER PRIMARY KEY/);
    expect(load).toMatch(/SEARCH o USING INTEGER PRIMARY KEY/);
    expect(load).not.toMatch(/SCAN (e|o)\b(?! USING)/);
  });

  it('retention reads old delivered rows from their partial index and finds envelopes by index', () => {
    const prune = plan(RETENTION_SQL.oldestDelivered, 1);
    expect(prune).toContain('events_delivered_at');
    expect(prune).not.toContain('TEMP B-TREE');
    // With the oldest, the rest of its input batch: a range of seqs, read by key.
    expect(plan(RETENTION_SQL.deleteDeliveredIn, 1, 2, 1)).toMatch(/^SEARCH events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)($| \|)/);
    expect(plan(RETENTION_SQL.deleteEnvelopeIfEmpty, 1, 1)).toContain('events_envelope_id');
    // The sweep reads envelopes in id order from its cursor, a batch at a time.
    expect(plan(RETENTION_SQL.nextEnvelopes, 1, 1)).toBe('SEARCH envelopes USING INTEGER PRIMARY KEY (rowid>?)');
    const skipped = plan(RETENTION_SQL.oldestSkipped, 1);
    expect(skipped).toContain('events_skipped_at');
    expect(skipped).not.toContain('TEMP B-TREE');
    expect(plan(RETENTION_SQL.deleteSkippedIn, 1, 2, 1)).toMatch(/^SEARCH events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)($| \|)/);
    // Trimming an envelope's batches reads one batch and its range of events by key.
    expect(plan(RETENTION_SQL.batchHolding, 1)).toMatch(/^SEARCH event_input_batches USING INTEGER PRIMARY KEY \(rowid<\?\)$/);
    expect(plan(RETENTION_SQL.storedSeqs, 1, 2)).toMatch(/^SEARCH events USING (COVERING INDEX \w+|INTEGER PRIMARY KEY) \(rowid>\? AND rowid<\?\)$/);
    expect(plan(RETENTION_SQL.deleteBatch, 1)).toBe('SEARCH event_input_batches USING INTEGER PRIMARY KEY (rowid=?)');
  });

  it('the gauges read indexes, not rows', () => {
    expect(plan(GAUGE_SQL.oldestPending)).toContain('COVERING INDEX events_pending_due');
    expect(plan(GAUGE_SQL.pendingByStage)).toContain('COVERING INDEX events_pending_due');
    for (const index of ['events_pending_due', 'events_settled_reason']) expect(plan(GAUGE_SQL.countByFate)).toContain(`COVERING INDEX ${index}`);
    expect(plan(GAUGE_SQL.countByReason)).toContain('COVERING INDEX events_settled_reason');
    expect(plan(GAUGE_SQL.countByFate)).not.toMatch(TABLE_SCAN);
  });

  it('count the delivered events, most of a database, as the total less the others, a page at a time', () => {
    // Not entry by entry through the delivered index: at every scrape that read millions of entries.
    expect(plan(GAUGE_SQL.countByFate)).not.toContain('events_delivered_at');
    // SQLite's OP_Count: the rows of a b-tree counted a page at a time, only for a bare count(*).
    const opcodes = (db.store.sqlite.prepare(`EXPLAIN ${GAUGE_SQL.countByFate}`).all() as Array<{ opcode: string }>).map((step) => step.opcode);
    expect(opcodes).toContain('Count');
  });
});
