/**
 * Structured JSON logs on stdout (pino). Secrets are redacted by key wherever they appear,
 * so a careless `log.info({ headers })` cannot leak an API key or token.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const SECRET_KEYS = [
  'authorization',
  'Authorization',
  'apiKey',
  'apiKeys',
  'ingestApiKeys',
  'adminToken',
  'clientSecret',
  'client_secret',
  'accessToken',
  'access_token',
  'token',
  'password',
];

export const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export function createLogger(
  level: string = 'info',
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      level,
      base: { service: 'caliper-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
