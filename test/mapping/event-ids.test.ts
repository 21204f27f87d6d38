import { describe, expect, it } from 'vitest';
import { OUTPUT_ID_NAMESPACE, outputEventId, uuidV5 } from '../../src/mapping/event-ids.ts';

describe('output event ids', () => {
  it('are lowercase urn:uuid: UUID v5s', () => {
    expect(outputEventId('site-1', 'event-1', '2026-03-02T09:15:27.481Z', 'forum-post-created')).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('are the same for the same sensor, event and rule (a replay)', () => {
    expect(outputEventId('site-1', 'event-1', '2026-03-02T09:15:27.481Z', 'forum-post-created')).toBe(outputEventId('site-1', 'event-1', '2026-03-02T09:15:27.481Z', 'forum-post-created'));
  });

  it('differ when the rule, the event id, its time or the sensor differs', () => {
    const ids = new Set([
      outputEventId('site-1', 'event-1', '2026-03-02T09:15:27.481Z', 'forum-post-created'),
      outputEventId('site-1', 'event-1', '2026-03-02T09:15:27.481Z', 'forum-post-modified'),
      outputEventId('site-1', 'event-2', '2026-03-02T09:15:27.481Z', 'forum-post-created'),
      outputEventId('site-1', 'event-1', '2026-03-02T09:15:27.482Z', 'forum-post-created'),
      outputEventId('site-2', 'event-1', '2026-03-02T09:15:27.481Z', 'forum-post-created'),
      // Parts never run into each other.
      outputEventId('site-1e', 'vent-1', '2026-03-02T09:15:27.481Z', 'forum-post-created'),
      // Nor does a separator inside one of them.
      outputEventId('site-1|e', 'vent-1', '2026-03-02T09:15:27.481Z', 'forum-post-created'),
      outputEventId('site-1', 'e|vent-1', '2026-03-02T09:15:27.481Z', 'forum-post-created'),
    ]);
    expect(ids.size).toBe(8);
  });

  it('are the UUID v5 of the parts as a JSON list in our namespace, for names of any length', () => {
    const namespace = Buffer.from(OUTPUT_ID_NAMESPACE.replaceAll('-', ''), 'hex');
    // The second is longer than the buffer ids are usually hashed in.
    for (const sourceId of ['event-1', 'évent-1 ✓', `event-${'é'.repeat(3_000)}`]) {
      const parts = ['site-1', sourceId, '2026-03-02T09:15:27.481Z', 'forum-post-created'] as const;
      expect(outputEventId(...parts)).toBe(`urn:uuid:${uuidV5(namespace, JSON.stringify(parts))}`);
    }
  });

  it('follow RFC 9562 (the DNS namespace example)', () => {
    const dns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
    expect(uuidV5(dns, 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});
