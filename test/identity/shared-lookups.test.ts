import { describe, expect, it } from 'vitest';
import { createSharedLookups } from '../../src/identity/shared-lookups.ts';

/** A lookup that answers when told to, and counts how often one was begun. */
function controlled() {
  const answers: Array<(value: string) => void> = [];
  return {
    started: () => answers.length,
    start: () => new Promise<string>((resolve) => answers.push(resolve)),
    answer: (index: number, value: string) => answers[index]!(value),
  };
}

describe('createSharedLookups', () => {
  it('shares one lookup between callers for the same key in the same generation', async () => {
    const lookups = createSharedLookups<string>();
    const roster = controlled();
    const first = lookups.join('stu-1', 0, roster.start);
    const second = lookups.join('stu-1', 0, roster.start);
    expect(roster.started()).toBe(1);
    roster.answer(0, 'found');
    await expect(Promise.all([first, second])).resolves.toEqual(['found', 'found']);
  });

  it('makes a lookup per key', () => {
    const lookups = createSharedLookups<string>();
    const roster = controlled();
    void lookups.join('stu-1', 0, roster.start);
    void lookups.join('stu-2', 0, roster.start);
    expect(roster.started()).toBe(2);
  });

  it('does not share a lookup begun before an eviction with a caller after it', async () => {
    const lookups = createSharedLookups<string>();
    const roster = controlled();
    const before = lookups.join('stu-1', 0, roster.start);
    const after = lookups.join('stu-1', 1, roster.start);
    expect(roster.started()).toBe(2);
    roster.answer(0, 'old answer');
    roster.answer(1, 'new answer');
    await expect(before).resolves.toBe('old answer');
    await expect(after).resolves.toBe('new answer');
  });

  it('keeps the newer lookup shared when the older one ends first', async () => {
    const lookups = createSharedLookups<string>();
    const roster = controlled();
    const before = lookups.join('stu-1', 0, roster.start);
    const after = lookups.join('stu-1', 1, roster.start);
    roster.answer(0, 'old answer');
    await before;
    const joining = lookups.join('stu-1', 1, roster.start);
    expect(roster.started()).toBe(2);
    roster.answer(1, 'new answer');
    await expect(Promise.all([after, joining])).resolves.toEqual(['new answer', 'new answer']);
  });

  it('begins a new lookup once the last one has answered', async () => {
    const lookups = createSharedLookups<string>();
    const roster = controlled();
    const first = lookups.join('stu-1', 0, roster.start);
    roster.answer(0, 'found');
    await first;
    void lookups.join('stu-1', 0, roster.start);
    expect(roster.started()).toBe(2);
  });
});
