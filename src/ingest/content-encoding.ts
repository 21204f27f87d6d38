/**
 * Compressed envelopes. Learn's sender is not documented to compress, but a proxy in front
 * of the gateway, or a later Learn, may (5,000-event envelopes are tens of MB of JSON that
 * gzips tenfold). Refusing them would lose events for as long as nobody reads the logs, so
 * gzip and deflate are decoded; MAX_BODY_BYTES caps the decoded size too, so a small
 * compressed body that inflates to gigabytes (a zip bomb) is refused with 413 as soon as
 * it passes the limit, never inflated whole. Any other coding is refused before the body is
 * read (415, with `Accept-Encoding` naming what we take, as RFC 7694 asks).
 */
import { promisify } from 'node:util';
import { gunzip, inflate, inflateRaw, type ZlibOptions } from 'node:zlib';
import { GatewayError, quote } from '../errors.ts';

export type ContentCoding = 'identity' | 'gzip' | 'deflate';

const ACCEPTED = 'gzip, deflate';

/** The body's coding from its Content-Encoding header; 415 for one we cannot decode. */
export function contentCoding(header: string | undefined): ContentCoding {
  const codings = (header ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return 'identity';
  if (codings.length === 1) {
    if (codings[0] === 'gzip' || codings[0] === 'x-gzip') return 'gzip';
    if (codings[0] === 'deflate') return 'deflate';
  }
  throw new GatewayError(
    415,
    'unsupported-content-encoding',
    `Content-Encoding ${quote(header ?? '')} is not supported; send the envelope uncompressed, or compressed once with gzip or deflate`,
    { headers: { 'accept-encoding': ACCEPTED } },
  );
}

const decoders = {
  gzip: promisify<Buffer, ZlibOptions, Buffer>(gunzip),
  // HTTP's "deflate" is the zlib format; some senders send raw deflate under that name.
  deflate: promisify<Buffer, ZlibOptions, Buffer>(inflate),
  raw: promisify<Buffer, ZlibOptions, Buffer>(inflateRaw),
};

/** The body as sent before compression: 413 once it outgrows `limit`, 400 when it is not valid. */
export async function decodeBody(body: Buffer, coding: ContentCoding, limit: number): Promise<Buffer> {
  if (coding === 'identity') return body;
  // Decoding stops with ERR_BUFFER_TOO_LARGE as soon as the output passes the limit.
  const options = { maxOutputLength: limit };
  try {
    if (coding === 'gzip') return await decoders.gzip(body, options);
    try {
      return await decoders.deflate(body, options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'Z_DATA_ERROR') throw error;
      return await decoders.raw(body, options);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new GatewayError(413, 'payload-too-large', `The body decompressed is over this endpoint's limit of ${limit} bytes (MAX_BODY_BYTES); send fewer events per envelope`);
    }
    throw new GatewayError(400, 'malformed-body', `The body is not valid ${coding} data, as its Content-Encoding says it is`, { cause: error });
  }
}
