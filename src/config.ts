/**
 * The gateway's configuration: parsed once from the environment into a typed object.
 * Only the entry point passes `process.env` in; everything else receives a `Config`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseAddressRange } from './client-address.ts';
import { editDistance } from './closest-name.ts';
import { finiteNumber } from './finite-number.ts';

const ROSTER_STRATEGIES = ['sourcedId', 'identifier', 'username', 'email'] as const;
export type RosterStrategy = (typeof ROSTER_STRATEGIES)[number];

/** The scope TimeBack wants in the token of every event POST (Caliper's own name for it). */
export const EVENTS_WRITE_SCOPE = 'https://purl.imsglobal.org/spec/caliper/v1p2/scope/events.write';

export const DEFAULT_SCOPES = [
  EVENTS_WRITE_SCOPE,
  'https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly',
];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * A number written the plain way (`30`, `-1`, `1.5`), as a number; anything else stays text
 * and is refused. `Number()` alone would take `0x1F90`, `1e3` and `Infinity`, which nobody
 * writes for a port or a timeout on purpose; the bounds and `int()` then say what is wrong.
 * Over 308 digits `Number()` gives Infinity, read as the largest number (finite-number.ts).
 */
const plainNumber = (value: unknown) => {
  const text = blankToUndefined(value);
  if (typeof text !== 'string' || !/^\s*-?\d+(\.\d+)?\s*$/.test(text)) return text;
  return finiteNumber(Number(text));
};

/**
 * A whole number from `min` to `max`. The bounds are checked first and end the check: zod's
 * int() refuses a whole number past 2^53 as not whole, so SHUTDOWN_TIMEOUT=99999999999999999999
 * read "must be a whole number of seconds" beside its bound, when what it is is too large.
 */
const wholeNumber = (fallback: number, min: number, max: number, messages: { notNumber: string; notWhole: string; tooSmall?: string }) =>
  z.preprocess(
    plainNumber,
    z
      .number({ error: messages.notNumber })
      .min(min, { error: messages.tooSmall ?? `must be at least ${min}`, abort: true })
      .max(max, { error: `must be at most ${max}`, abort: true })
      .int(messages.notWhole)
      .default(fallback),
  );

const optionalString = z.preprocess(blankToUndefined, z.string().trim().optional());

const seconds = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  wholeNumber(fallback, min, max, { notNumber: 'must be a number of seconds', notWhole: 'must be a whole number of seconds' });

// Timeouts and waits become timers, and Node runs a timer longer than 2^31 - 1 ms (24.8 days)
// after 1 ms instead: a "very large" ROSTER_TIMEOUT would abort every lookup at once, and a
// SHUTDOWN_TIMEOUT that large would cut every shutdown short. These bounds stay well inside it.
const AN_HOUR = 3_600;
const A_DAY = 86_400;

const positiveInt = (fallback: number, max: number) =>
  wholeNumber(fallback, 1, max, { notNumber: 'must be a number', notWhole: 'must be a whole number' });

// No user:password@: it would be logged, and shown on /readyz, with every token problem.
// Zod runs this check even when the URL check failed: text that is no URL was refused there
// already, and `new URL` would throw on it.
const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .refine((url) => {
    if (!URL.canParse(url)) return true;
    const { username, password } = new URL(url);
    return username === '' && password === '';
  }, 'must not carry a user name or password (set TIMEBACK_CLIENT_ID and TIMEBACK_CLIENT_SECRET instead)');

const commaList = (value: unknown) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')
    : value;

/**
 * Node reads header values as Latin-1, one character per byte, and refuses control characters
 * in them (tab aside). A key holding anything else could never equal what a request carries,
 * so it is refused here rather than answering every request with 401.
 */
const HEADER_SAFE = /^[\t\x20-\x7e\x80-\xff]*$/;
const HEADER_SAFE_MESSAGE =
  'must hold only characters a request header can carry (Latin-1, no control characters): Node reads headers as Latin-1, so it could never match';

const EnvSchema = z.object({
  // 0 asks the OS for a free port (tests and the demo run many gateways side by side).
  PORT: wholeNumber(8080, 0, 65535, { notNumber: 'must be a port number', notWhole: 'must be a port number', tooSmall: 'must be a port number' }),
  HOST: z.preprocess(blankToUndefined, z.string().default('0.0.0.0')),
  DB_PATH: z.preprocess(blankToUndefined, z.string().default('./data/gateway.db')),
  MAPPINGS_DIR: z.preprocess(blankToUndefined, z.string().default('./mappings')),
  FIXTURES_DIR: z.preprocess(blankToUndefined, z.string().default('./fixtures')),
  INGEST_API_KEYS: z.preprocess(
    (value) => {
      const list = commaList(blankToUndefined(value));
      return Array.isArray(list) && list.length === 0 ? undefined : list;
    },
    z.array(z.string().min(8, 'each key must be at least 8 characters').regex(HEADER_SAFE, `each key ${HEADER_SAFE_MESSAGE}`)).optional(),
  ),
  ADMIN_TOKEN: z.preprocess(
    blankToUndefined,
    // Trimmed: the admin check trims what is sent, so padding here would match nothing.
    z.string().trim().min(16, 'must be at least 16 characters').regex(HEADER_SAFE, HEADER_SAFE_MESSAGE).optional(),
  ),
  AUTH_FAILURE_LIMIT: wholeNumber(10, 0, 1_000_000, { notNumber: 'must be a number', notWhole: 'must be a whole number' }),
  AUTH_FAILURE_WINDOW: seconds(600, 1, A_DAY),
  TRUSTED_PROXIES: z.preprocess(
    (value) => commaList(blankToUndefined(value)) ?? [],
    z.array(z.string().refine((entry) => parseAddressRange(entry) !== undefined, 'each entry must be an IP address or a network such as 10.0.0.0/8')),
  ),
  TIMEBACK_BASE_URL: z.preprocess(
    blankToUndefined,
    httpUrl
      // The TimeBack paths are appended to it: after a ? or # they would land in the query or
      // fragment (the token URL), or the query would be dropped without a word (events, roster).
      .refine(
        (url) => !/[?#]/.test(url),
        'must not carry a query (?…) or fragment (#…): /events/1.0/, /rostering/1.0/users and /auth/1.0/token are added to it',
      )
      .default('https://platform.timeback.com')
      .transform((url) => url.replace(/\/+$/, '')),
  ),
  TIMEBACK_TOKEN_URL: z.preprocess(blankToUndefined, httpUrl.optional()),
  TIMEBACK_CLIENT_ID: optionalString,
  TIMEBACK_CLIENT_SECRET: optionalString,
  // A file holding the secret (a mounted secret that rotates): read at start and again before each token request.
  TIMEBACK_CLIENT_SECRET_FILE: optionalString,
  TIMEBACK_APP_ID: z.preprocess(
    blankToUndefined,
    z
      .uuid('must be the app UUID from TimeBack (not the OAuth client id)')
      .transform((id) => id.toLowerCase())
      .optional(),
  ),
  TIMEBACK_TOKEN_TIMEOUT: seconds(10, 1, AN_HOUR),
  // Blank means unset, as for every variable: an empty scope list would silently drop the default.
  TIMEBACK_SCOPES: z.preprocess(
    (value) => {
      const listed = typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : value;
      return Array.isArray(listed) && listed.length === 0 ? undefined : listed;
    },
    z.array(z.string()).default(DEFAULT_SCOPES),
  ),
  ROSTER_MATCH: z.preprocess(
    (value) => commaList(blankToUndefined(value)),
    z
      .array(z.enum(ROSTER_STRATEGIES, { error: `must be among ${ROSTER_STRATEGIES.join(', ')}` }))
      .min(1, 'name at least one strategy')
      // A strategy named twice would ask the roster the same question twice for every student
      // it does not find. Tried once, where first named; repeatedRosterStrategies warns of it.
      .transform((strategies) => [...new Set(strategies)])
      .default(['sourcedId', 'identifier', 'email']),
  ),
  ROSTER_CACHE_TTL: seconds(86_400),
  ROSTER_NEGATIVE_TTL: seconds(3_600),
  ROSTER_TIMEOUT: seconds(5, 1, AN_HOUR),
  DELIVERY_CONCURRENCY: positiveInt(16, 1024),
  DELIVERY_MAX_AGE: seconds(604_800, 1),
  DELIVERY_TIMEOUT: seconds(10, 1, AN_HOUR),
  DELIVERY_BACKOFF_CAP: seconds(300, 1, A_DAY),
  DELIVERED_RETENTION: seconds(604_800),
  SKIPPED_RETENTION: seconds(0),
  MAX_BODY_BYTES: positiveInt(64 * 1024 * 1024, 1024 * 1024 * 1024),
  MAX_BYTES_IN_FLIGHT: positiveInt(128 * 1024 * 1024, 16 * 1024 * 1024 * 1024),
  SHUTDOWN_TIMEOUT: seconds(10, 1, AN_HOUR),
  LOG_LEVEL: z.preprocess(
    (value) => (typeof value === 'string' ? value.trim().toLowerCase() || undefined : value),
    z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ),
}).refine((env) => env.ADMIN_TOKEN === undefined || !(env.INGEST_API_KEYS ?? []).includes(env.ADMIN_TOKEN), {
  // An ingest key sits in Learn's Caliper settings, where every Learn admin can read it.
  path: ['ADMIN_TOKEN'],
  message: 'must differ from every key in INGEST_API_KEYS: Learn holds those, and the admin token opens /admin',
}).refine((env) => env.TIMEBACK_CLIENT_SECRET === undefined || env.TIMEBACK_CLIENT_SECRET_FILE === undefined, {
  // Either could silently win; an admin who mounted a file would rotate it and see nothing change.
  path: ['TIMEBACK_CLIENT_SECRET_FILE'],
  message: 'set it or TIMEBACK_CLIENT_SECRET, not both',
});

export interface Config {
  port: number;
  host: string;
  dbPath: string;
  mappingsDir: string;
  /** Mapping regression fixtures; a rule change goes live only if every fixture here passes. */
  fixturesDir: string;
  /** The admin-edited externalId → platform id file, inside `mappingsDir`. */
  overridesFile: string;
  /** Undefined means "use the key generated and stored on first start". */
  ingestApiKeys: string[] | undefined;
  adminToken: string | undefined;
  /** Wrong keys one client address may send per window before it is answered 429 (auth-failures.ts); 0: no limit. */
  authFailures: { limit: number; windowMs: number };
  /** Proxies whose X-Forwarded-For or Forwarded names the client (client-address.ts). */
  trustedProxies: string[];
  maxBodyBytes: number;
  /** Request bodies POST /caliper holds at once (read, parsed, being committed); more wait. */
  maxBytesInFlight: number;
  shutdownTimeoutMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  timeback: {
    baseUrl: string;
    tokenUrl: string;
    clientId: string | undefined;
    /** From TIMEBACK_CLIENT_SECRET, or as TIMEBACK_CLIENT_SECRET_FILE held it at start (unless parsed without reading it). */
    clientSecret: string | undefined;
    /** TIMEBACK_CLIENT_SECRET_FILE (absolute), re-read by the token provider so a rotated secret needs no restart. */
    clientSecretFile: string | undefined;
    appId: string | undefined;
    scopes: string[];
    /** Deadline for one token request, connection included. */
    tokenTimeoutMs: number;
  };
  roster: {
    match: RosterStrategy[];
    cacheTtlMs: number;
    negativeTtlMs: number;
    /** Deadline for one roster request, connection included. */
    timeoutMs: number;
  };
  delivery: {
    concurrency: number;
    maxAgeMs: number;
    timeoutMs: number;
    /** The longest wait between two attempts at one event, and between probes while TimeBack is down. */
    backoffCapMs: number;
    retentionMs: number;
    /** How long skipped events are kept; 0: for good. */
    skippedRetentionMs: number;
  };
}

export const OVERRIDES_FILE_NAME = 'user-overrides.yaml';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ParseConfigOptions {
  /**
   * False for the commands that never talk to TimeBack (status, replay, roster-cache,
   * check-mappings, translate with --users): TIMEBACK_CLIENT_SECRET_FILE is then not read, so
   * a secret file they cannot read (an admin without access to the mounted secret) does not
   * stop them. `timeback.clientSecret` is then only what TIMEBACK_CLIENT_SECRET holds.
   */
  readSecretFile?: boolean;
}

/** Parses the environment; throws one ConfigError that lists every bad variable. */
export function parseConfig(env: Record<string, string | undefined>, options: ParseConfigOptions = {}): Config {
  const result = EnvSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '(environment)');
      return `${name}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const e = result.data;
  const mappingsDir = path.resolve(e.MAPPINGS_DIR);
  const clientSecretFile = e.TIMEBACK_CLIENT_SECRET_FILE === undefined ? undefined : path.resolve(e.TIMEBACK_CLIENT_SECRET_FILE);
  let clientSecret = e.TIMEBACK_CLIENT_SECRET;
  if (clientSecretFile !== undefined && options.readSecretFile !== false) {
    try {
      clientSecret = readSecretFile(clientSecretFile);
    } catch (err) {
      throw new ConfigError([`TIMEBACK_CLIENT_SECRET_FILE: ${(err as Error).message}`]);
    }
  }
  return {
    port: e.PORT,
    host: e.HOST,
    dbPath: e.DB_PATH === ':memory:' ? e.DB_PATH : path.resolve(e.DB_PATH),
    mappingsDir,
    fixturesDir: path.resolve(e.FIXTURES_DIR),
    overridesFile: path.join(mappingsDir, OVERRIDES_FILE_NAME),
    ingestApiKeys: e.INGEST_API_KEYS,
    adminToken: e.ADMIN_TOKEN,
    authFailures: { limit: e.AUTH_FAILURE_LIMIT, windowMs: e.AUTH_FAILURE_WINDOW * 1000 },
    trustedProxies: e.TRUSTED_PROXIES,
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxBytesInFlight: e.MAX_BYTES_IN_FLIGHT,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT * 1000,
    logLevel: e.LOG_LEVEL,
    timeback: {
      baseUrl: e.TIMEBACK_BASE_URL,
      tokenUrl: e.TIMEBACK_TOKEN_URL ?? `${e.TIMEBACK_BASE_URL}/auth/1.0/token`,
      clientId: e.TIMEBACK_CLIENT_ID,
      clientSecret,
      clientSecretFile,
      appId: e.TIMEBACK_APP_ID,
      scopes: e.TIMEBACK_SCOPES,
      tokenTimeoutMs: e.TIMEBACK_TOKEN_TIMEOUT * 1000,
    },
    roster: {
      match: e.ROSTER_MATCH,
      cacheTtlMs: e.ROSTER_CACHE_TTL * 1000,
      negativeTtlMs: e.ROSTER_NEGATIVE_TTL * 1000,
      timeoutMs: e.ROSTER_TIMEOUT * 1000,
    },
    delivery: {
      concurrency: e.DELIVERY_CONCURRENCY,
      maxAgeMs: e.DELIVERY_MAX_AGE * 1000,
      timeoutMs: e.DELIVERY_TIMEOUT * 1000,
      backoffCapMs: e.DELIVERY_BACKOFF_CAP * 1000,
      retentionMs: e.DELIVERED_RETENTION * 1000,
      skippedRetentionMs: e.SKIPPED_RETENTION * 1000,
    },
  };
}

/**
 * The TimeBack URLs that would carry the client secret or tokens unencrypted: plain http:// to
 * a host other than this machine. Allowed (a sidecar may add TLS on the way), but said at start.
 */
export function plainHttpTimebackUrls(config: Config): string[] {
  const names: Array<[string, string]> = [
    ['TIMEBACK_BASE_URL', config.timeback.baseUrl],
    ['TIMEBACK_TOKEN_URL', config.timeback.tokenUrl],
  ];
  return names.filter(([, url]) => isPlainHttpToAnotherHost(url)).map(([name]) => name);
}

function isPlainHttpToAnotherHost(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(hostname) && !hostname.startsWith('127.');
}

/**
 * Prefixes no other software is likely to use: a variable under one of them that is not a
 * setting is a typo (DELIVERY_CONCURENCY), which would otherwise be ignored without a word and
 * its setting left at the default. Broader ones (DB_, LOG_, MAX_, AUTH_, TRUSTED_) would flag other
 * programs' own (AUTH_SECRET, TRUSTED_HOSTS); AUTH_FAIL and TRUSTED_PROX still catch AUTH_FAILURES_LIMIT and TRUSTED_PROXY.
 * MAPPING and FIXTURE catch the singular (MAPPING_DIR), which would leave the gateway on the
 * shipped rules in ./mappings instead of the school's own. DB_PATH catches DB_PATHH or DB_PATHS,
 * which would leave every command on ./data/gateway.db, not the database meant.
 */
const OWN_PREFIXES = ['TIMEBACK_', 'ROSTER_', 'DELIVERY_', 'DELIVERED_', 'SKIPPED_', 'INGEST_', 'AUTH_FAIL', 'TRUSTED_PROX', 'MAPPING', 'FIXTURE', 'DB_PATH'];

/**
 * Outside those prefixes, a name one slip from a setting (DB_PAHT, LOG_LEVLE, ADMIN_TOEKN) is
 * a typo too: no other program's variable is that close to one of ours. Short names are left
 * out, where one slip makes a common word (PORT and PORTS, HOST and HOSTS).
 */
const MIN_SLIP_LENGTH = 6;

function isOneSlipFrom(name: string, known: readonly string[]): boolean {
  return name.length >= MIN_SLIP_LENGTH && known.some((setting) => setting.length >= MIN_SLIP_LENGTH && editDistance(name, setting) <= 1);
}

/**
 * The kubelet gives every pod variables for each Service in its namespace, named after the
 * Service (upper-cased, `-` and `.` made `_`): a Service called `timeback` or `roster` puts
 * TIMEBACK_PORT=tcp://10.0.0.1:80 under our prefixes, which no admin can remove. Its shapes,
 * each with the value it always has, so a name the admin set (TIMEBACK_PORT=8443) still warns:
 *   S_SERVICE_HOST=<ip>, S_SERVICE_PORT=<port>, S_SERVICE_PORT_<PORT NAME>=<port>,
 *   S_PORT=<proto>://<ip>:<port>, S_PORT_<port>_<PROTO>=<same>, and that name with
 *   _PROTO=<proto>, _PORT=<port>, _ADDR=<ip>.
 * An IPv6 address may be written with or without brackets, so the address is only loosely checked.
 */
const KUBERNETES_SERVICE_VARIABLES: ReadonlyArray<[name: RegExp, value: RegExp]> = [
  [/^[A-Z_][A-Z0-9_]*_SERVICE_HOST$/, /^[0-9A-Fa-f.:]+$/],
  [/^[A-Z_][A-Z0-9_]*_SERVICE_PORT(_[A-Z0-9_]+)?$/, /^\d{1,5}$/],
  [/^[A-Z_][A-Z0-9_]*_PORT(_\d{1,5}_(TCP|UDP|SCTP))?$/, /^(tcp|udp|sctp):\/\/\[?[0-9A-Fa-f.:]+\]?:\d{1,5}$/],
  [/^[A-Z_][A-Z0-9_]*_PORT_\d{1,5}_(TCP|UDP|SCTP)_PROTO$/, /^(tcp|udp|sctp)$/],
  [/^[A-Z_][A-Z0-9_]*_PORT_\d{1,5}_(TCP|UDP|SCTP)_PORT$/, /^\d{1,5}$/],
  [/^[A-Z_][A-Z0-9_]*_PORT_\d{1,5}_(TCP|UDP|SCTP)_ADDR$/, /^[0-9A-Fa-f.:]+$/],
];

function isKubernetesServiceVariable(name: string, value: string | undefined): boolean {
  return value !== undefined && KUBERNETES_SERVICE_VARIABLES.some(([shape, values]) => shape.test(name) && values.test(value));
}

/** The variables in `env` that look like settings and are not, each with the setting it is closest to, if one is close. */
export function unknownSettings(env: Record<string, string | undefined>): Array<{ name: string; closest?: string }> {
  const known = Object.keys(EnvSchema.shape);
  return Object.keys(env)
    .filter((name) => !known.includes(name) && (OWN_PREFIXES.some((prefix) => name.startsWith(prefix)) || isOneSlipFrom(name, known)))
    .filter((name) => !isKubernetesServiceVariable(name, env[name]))
    .sort()
    .map((name) => {
      const [closest] = known
        .map((setting) => ({ setting, distance: editDistance(name, setting) }))
        .filter(({ distance }) => distance <= 3)
        .sort((a, b) => a.distance - b.distance);
      return closest ? { name, closest: closest.setting } : { name };
    });
}

/** The warning for one of unknownSettings' variables, the same from `serve`'s log and the other commands' stderr. */
export function describeUnknownSetting({ name, closest }: { name: string; closest?: string }): string {
  return `${name} is not a caliper-gateway setting and is ignored${closest ? ` (did you mean ${closest}?)` : ''}`;
}

/**
 * The strategies ROSTER_MATCH names more than once, each once, when every name in it is one
 * (otherwise ROSTER_MATCH is refused, and that is what to read). Accepted rather than refused,
 * so a deployment that has long run with one does not stop at an upgrade; said at start-up.
 */
export function repeatedRosterStrategies(env: Record<string, string | undefined>): RosterStrategy[] {
  const listed = commaList(blankToUndefined(env.ROSTER_MATCH));
  if (!Array.isArray(listed) || !listed.every((name): name is RosterStrategy => (ROSTER_STRATEGIES as readonly string[]).includes(name))) return [];
  return [...new Set(listed.filter((name, i) => listed.indexOf(name) !== i))];
}

/** The warning for repeatedRosterStrategies, the same from `serve`'s log and the other commands' stderr. */
export function describeRepeatedRosterStrategies(strategies: RosterStrategy[]): string {
  return `ROSTER_MATCH names ${strategies.join(', ')} more than once; each strategy is tried once, where first named`;
}

/**
 * The secret in a TIMEBACK_CLIENT_SECRET_FILE: its text without the surrounding whitespace (a
 * file written by `echo` ends in a newline). Throws an error naming the file and the reason,
 * never any of its content.
 */
export function readSecretFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${file}${code ? ` (${code})` : ''}`);
  }
  const secret = text.trim();
  if (secret === '') throw new Error(`${file} is empty`);
  return secret;
}

/** Where the secret is set, for messages that tell an admin what to check. */
export function clientSecretSetting(timeback: Pick<Config['timeback'], 'clientSecretFile'>): string {
  return timeback.clientSecretFile === undefined ? 'TIMEBACK_CLIENT_SECRET' : 'TIMEBACK_CLIENT_SECRET_FILE';
}

/**
 * The secret, when it is missing: neither variable is set (a set TIMEBACK_CLIENT_SECRET_FILE
 * always yields one, or parseConfig refuses it), and either would do.
 */
const MISSING_CLIENT_SECRET = 'TIMEBACK_CLIENT_SECRET (or TIMEBACK_CLIENT_SECRET_FILE)';

/** The TimeBack credentials not set, as the settings that would set them; empty when a token can be asked for. */
export function missingCredentials(timeback: Pick<Config['timeback'], 'clientId' | 'clientSecret'>): string[] {
  const missing: string[] = [];
  if (!timeback.clientId) missing.push('TIMEBACK_CLIENT_ID');
  if (!timeback.clientSecret) missing.push(MISSING_CLIENT_SECRET);
  return missing;
}

/** What is still missing before events can be delivered; empty when delivery can start. */
export function missingDeliverySettings(config: Config): string[] {
  return [...missingCredentials(config.timeback), ...(config.timeback.appId ? [] : ['TIMEBACK_APP_ID'])];
}
