/**
 * The id of an event we send is a UUID v5 (RFC 9562, SHA-1) of the Learn sensor, Learn's event
 * id, its eventTime and the rule id: the same key the store deduplicates on (schema.ts). A
 * replay of the same event through the same rule gets the same id, so TimeBack can recognise
 * a resend; a different rule makes a different event, and so do two Learn events that only
 * share an id (Learn does not promise unique ids).
 */
import { createHash, hash } from 'node:crypto';

/** Our own namespace for output event ids. Changing it would change every id we have ever sent. */
export const OUTPUT_ID_NAMESPACE = '7f1c9a52-3e0b-4d6a-9b84-2c5e1f0a6d93';

const NAMESPACE_BYTES = Buffer.from(OUTPUT_ID_NAMESPACE.replaceAll('-', ''), 'hex');

// One scratch buffer for namespace + name: ids are made for every event, so no per-event concat.
const scratch = Buffer.alloc(4096);
NAMESPACE_BYTES.copy(scratch);

/** `urn:uuid:<uuid v5>`, lowercase. */
export function outputEventId(sensor: string, sourceId: string, eventTime: string, ruleId: string): string {
  // JSON keeps the parts apart: ("a|b", "c") and ("a", "b|c") never collide.
  const name = JSON.stringify([sensor, sourceId, eventTime, ruleId]);
  const length = 16 + Buffer.byteLength(name);
  if (length > scratch.length) return `urn:uuid:${uuidV5(NAMESPACE_BYTES, name)}`;
  scratch.write(name, 16, 'utf8');
  return `urn:uuid:${formatV5(hash('sha1', scratch.subarray(0, length), 'buffer'))}`;
}

export function uuidV5(namespace: Uint8Array, name: string): string {
  return formatV5(createHash('sha1').update(namespace).update(name, 'utf8').digest());
}

function formatV5(digest: Buffer): string {
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
