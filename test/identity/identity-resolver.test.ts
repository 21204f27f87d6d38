import { describe, expect, it } from 'vitest';
import { MAX_EXTERNAL_ID_LENGTH, staticIdentity, withOverrides } from '../../src/identity/identity-resolver.ts';

const PINNED = '3f1c2b7a-9d4e-4c6b-8a5f-1e2d3c4b5a69';
const LISTED = '8a7b6c5d-4e3f-4a1b-9c2d-0e1f2a3b4c5d';

describe('withOverrides', () => {
  // The gateway's resolver trims the id and refuses an empty or overlong one before the
  // overrides and the roster: translate --users must answer the same.
  it('looks up the id trimmed, as the gateway does, in the overrides and then the roster', async () => {
    const identity = withOverrides(new Map([['rdiaz04', PINNED]]), staticIdentity({ tnguyen11: LISTED }));
    expect(await identity.resolve(' rdiaz04\n')).toEqual({ status: 'found', platformId: PINNED });
    expect(await identity.resolve('\ttnguyen11 ')).toEqual({ status: 'found', platformId: LISTED });
  });

  it('answers not found for an empty id or one longer than the gateway accepts, even if listed', async () => {
    const overlong = 'x'.repeat(MAX_EXTERNAL_ID_LENGTH + 1);
    const identity = withOverrides(new Map(), staticIdentity({ [overlong]: LISTED }));
    expect(await identity.resolve('  ')).toEqual({ status: 'not-found', detail: 'the Learn user id is empty' });
    expect(await identity.resolve(overlong)).toEqual({ status: 'not-found', detail: `the Learn user id is longer than ${MAX_EXTERNAL_ID_LENGTH} characters` });
    expect(await withOverrides(new Map(), staticIdentity({ [overlong.slice(1)]: LISTED })).resolve(overlong.slice(1))).toEqual({ status: 'found', platformId: LISTED });
  });
});
