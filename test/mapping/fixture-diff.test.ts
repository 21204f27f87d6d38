import { describe, expect, it } from 'vitest';
import { describeEntry, fixtureDiff } from '../../src/mapping/fixture-diff.ts';

const delivered = (action: string) => ({
  fate: 'deliver',
  rule: 'forum-post-created',
  event: { type: 'MessageEvent', action, object: { id: 'https://learn.example/post/1', type: 'Message' } },
});
const PII_DETAIL =
  'rule session-logged-in: object.extensions["bb:request.headers.agent"]: carries personal data (user-agent); list "user-agent" in the rule\'s allowPii to send it';

describe('fixtureDiff', () => {
  it('shows an event whose fate changed as one line, with the whole reason it now has', () => {
    const rejected = { fate: 'rejected', reason: 'invalid-output', rule: 'session-logged-in', detail: PII_DETAIL };
    expect(fixtureDiff([delivered('Posted')], [rejected])).toEqual([
      `[0]: expected deliver MessageEvent Posted (rule forum-post-created), got rejected, invalid-output (rule session-logged-in): ${PII_DETAIL}`,
    ]);
  });

  it('shows an event with the same fate property by property, the rule included', () => {
    const after = { ...delivered('MarkedAsRead'), rule: 'forum-post-read' };
    expect(fixtureDiff([delivered('Posted')], [after])).toEqual([
      '[0].rule: expected "forum-post-created", got "forum-post-read"',
      '[0].event.action: expected "Posted", got "MarkedAsRead"',
    ]);
  });

  it('shows a changed reason in full, however long', () => {
    const skipped = (detail: string) => ({ fate: 'skipped', reason: 'rule-skips', rule: 'forum-by-instructor', detail });
    const long = `${'An instructor’s post is teaching. '.repeat(6)}The end.`;
    expect(fixtureDiff([skipped('Teaching.')], [skipped(long)])).toEqual([`[0].detail: expected "Teaching.", got ${JSON.stringify(long)}`]);
  });

  it('cuts a reason past 1,000 characters, never between the halves of an emoji', () => {
    // The 999th UTF-16 unit, the last kept, is the first half of an emoji.
    const detail = `${'x'.repeat(998)}${'😀'.repeat(10)}`;
    expect(describeEntry({ fate: 'skipped', reason: 'rule-skips', detail })).toBe(`skipped, rule-skips: ${'x'.repeat(998)}…`);
  });

  it('names an event on one side only, and anything that is not an entry as it is', () => {
    expect(fixtureDiff([], [delivered('Posted')])).toEqual(['[0]: expected nothing, got deliver MessageEvent Posted (rule forum-post-created)']);
    expect(fixtureDiff([delivered('Posted'), 3], [delivered('Posted')])).toEqual(['[1]: expected 3, got nothing']);
    expect(fixtureDiff({ fate: 'deliver' }, [])).toEqual(['(root): expected {"fate":"deliver"}, got []']);
  });

  it('speaks of was and now for --update', () => {
    expect(fixtureDiff([delivered('Posted')], [delivered('MarkedAsRead')], { before: 'was', after: 'now' })).toEqual([
      '[0].event.action: was "Posted", now "MarkedAsRead"',
    ]);
  });

  it('describes each fate in words', () => {
    expect(describeEntry({ fate: 'rejected', reason: 'invalid-event', detail: 'data[2].id: the event id is empty' })).toBe(
      'rejected, invalid-event: data[2].id: the event id is empty',
    );
    expect(describeEntry(delivered('Posted'))).toBe('deliver MessageEvent Posted (rule forum-post-created)');
  });
});
