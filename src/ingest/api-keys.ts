/**
 * The keys Learn sends in `Authorization`. Blackboard does not document the header's form:
 * public receivers compare the raw value, the Caliper spec recommends `Bearer <key>`, so
 * both are accepted. Only SHA-256 digests are kept in memory and in the database, and every
 * digest is compared in constant time so a timing probe learns nothing about any key.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Store } from '../store/database.ts';
import { meta } from '../store/schema.ts';

export interface IngestKeys {
  /** True when the header carries one of the keys, raw or as `Bearer <key>`. */
  verify(authorization: string | undefined | null): boolean;
  /** Where the keys came from, for the start-up log line. */
  readonly source: 'environment' | 'generated' | 'stored';
}

const GENERATED_KEY_DIGEST = 'ingest_api_key_sha256';

/**
 * A secret's SHA-256, which is what is kept and compared: digests all have one length, so
 * timingSafeEqual can compare any two, and the time taken says nothing about the secret.
 */
export const secretDigest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export function ingestKeysFromDigests(digests: Buffer[], source: IngestKeys['source']): IngestKeys {
  return {
    source,
    verify(authorization) {
      if (!authorization) return false;
      const value = authorization.trim();
      const bearer = /^bearer\s+(.+)$/i.exec(value)?.[1]?.trim();
      const candidates = bearer === undefined ? [value] : [value, bearer];
      let matched = false;
      // No early exit: every candidate is compared with every key.
      for (const candidate of candidates) {
        const presented = secretDigest(candidate);
        for (const known of digests) matched = timingSafeEqual(presented, known) || matched;
      }
      return matched;
    },
  };
}

export function ingestKeysFrom(keys: string[]): IngestKeys {
  return ingestKeysFromDigests(keys.map(secretDigest), 'environment');
}

/**
 * The keys from INGEST_API_KEYS; when unset, the key generated on first start. A new key
 * is handed to `announce` exactly once (it is stored only as a digest, so it cannot be
 * shown again; delete the `meta` row to generate another).
 */
export function resolveIngestKeys(
  configured: string[] | undefined,
  store: Store,
  announce: (key: string) => void,
  now: () => number = Date.now,
): IngestKeys {
  if (configured && configured.length > 0) return ingestKeysFrom(configured);

  const stored = store.db.select().from(meta).where(eq(meta.key, GENERATED_KEY_DIGEST)).get();
  if (stored) {
    // A digest of any other length would make timingSafeEqual throw on every request: every
    // envelope answered 500, for a reason no log line names.
    if (!/^[0-9a-f]{64}$/i.test(stored.value)) {
      throw new Error(
        `the stored digest of the generated ingest key (meta row ${GENERATED_KEY_DIGEST}) is damaged: set INGEST_API_KEYS, or delete the row to generate and print a new key`,
      );
    }
    return ingestKeysFromDigests([Buffer.from(stored.value, 'hex')], 'stored');
  }

  // Blackboard's admin form recommends "a true UUID" for the API key.
  const key = randomUUID();
  store.db
    .insert(meta)
    .values({ key: GENERATED_KEY_DIGEST, value: secretDigest(key).toString('hex'), updatedAt: now() })
    .run();
  announce(key);
  return ingestKeysFromDigests([secretDigest(key)], 'generated');
}
