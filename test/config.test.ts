import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_SCOPES,
  describeRepeatedRosterStrategies,
  missingDeliverySettings,
  parseConfig,
  plainHttpTimebackUrls,
  repeatedRosterStrategies,
  unknownSettings,
} from '../src/config.ts';
import { thrownBy } from './helpers/thrown.ts';

const configError = (env: Record<string, string>) => thrownBy(ConfigError, () => parseConfig(env));

describe('parseConfig', () => {
  it('gives a working configuration for an empty environment', () => {
    const config = parseConfig({});
    // toMatchObject: other settings may be added; these defaults must hold.
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      dbPath: path.resolve('data/gateway.db'),
      mappingsDir: path.resolve('mappings'),
      fixturesDir: path.resolve('fixtures'),
      overridesFile: path.resolve('mappings/user-overrides.yaml'),
      ingestApiKeys: undefined,
      adminToken: undefined,
      maxBodyBytes: 64 * 1024 * 1024,
      shutdownTimeoutMs: 10_000,
      logLevel: 'info',
      timeback: {
        baseUrl: 'https://platform.timeback.com',
        tokenUrl: 'https://platform.timeback.com/auth/1.0/token',
        clientId: undefined,
        clientSecret: undefined,
        appId: undefined,
        scopes: DEFAULT_SCOPES,
      },
      roster: { match: ['sourcedId', 'identifier', 'email'], cacheTtlMs: 86_400_000, negativeTtlMs: 3_600_000 },
      delivery: { concurrency: 16, maxAgeMs: 604_800_000, timeoutMs: 10_000, retentionMs: 604_800_000 },
    });
    expect(missingDeliverySettings(config)).toEqual(['TIMEBACK_CLIENT_ID', 'TIMEBACK_CLIENT_SECRET (or TIMEBACK_CLIENT_SECRET_FILE)', 'TIMEBACK_APP_ID']);
  });

  it('limits wrong keys by default, and reads the limit, its window and the trusted proxies', () => {
    expect(parseConfig({})).toMatchObject({ authFailures: { limit: 10, windowMs: 600_000 }, trustedProxies: [] });
    expect(parseConfig({ AUTH_FAILURE_LIMIT: '0', AUTH_FAILURE_WINDOW: '60', TRUSTED_PROXIES: ' 10.0.0.0/8 , ::1 ' })).toMatchObject({
      authFailures: { limit: 0, windowMs: 60_000 },
      trustedProxies: ['10.0.0.0/8', '::1'],
    });
    expect(configError({ AUTH_FAILURE_LIMIT: '-1', AUTH_FAILURE_WINDOW: '0', TRUSTED_PROXIES: '10.0.0.1,proxy.internal' }).problems).toEqual([
      'AUTH_FAILURE_LIMIT: must be at least 0',
      'AUTH_FAILURE_WINDOW: must be at least 1',
      'TRUSTED_PROXIES: each entry must be an IP address or a network such as 10.0.0.0/8',
    ]);
  });

  it('treats blank variables as unset', () => {
    expect(
      parseConfig({ PORT: '', INGEST_API_KEYS: ' , ', LOG_LEVEL: '  ', TIMEBACK_CLIENT_ID: ' ', TIMEBACK_SCOPES: '  ', ROSTER_MATCH: '' }),
    ).toEqual(parseConfig({}));
  });

  it('trims ADMIN_TOKEN as it trims the ingest keys: the admin check trims what is sent, so padding from an env file would lock the admin out', () => {
    expect(parseConfig({ ADMIN_TOKEN: '  admin-token-0123456789 \t' }).adminToken).toBe('admin-token-0123456789');
    // The minimum length counts the token, not its padding.
    expect(configError({ ADMIN_TOKEN: '   short-token   ' }).problems).toEqual(['ADMIN_TOKEN: must be at least 16 characters']);
  });

  it('refuses an ADMIN_TOKEN that is also an ingest key, without echoing it', () => {
    // The ingest key sits in Learn's Caliper settings, where every Learn admin can read it.
    const shared = 'shared-token-0123456789';
    const { problems, message } = configError({ INGEST_API_KEYS: `other-key-00000000, ${shared}`, ADMIN_TOKEN: ` ${shared} ` });
    expect(problems).toEqual(['ADMIN_TOKEN: must differ from every key in INGEST_API_KEYS: Learn holds those, and the admin token opens /admin']);
    expect(message).not.toContain(shared);
  });

  it('refuses ingest keys and an ADMIN_TOKEN a request header cannot carry, naming the variable without echoing the value', () => {
    // Node reads header values as Latin-1 (one character per byte), so a key holding a character
    // beyond U+00FF, or a control character no header may hold, could never match what is sent.
    const cases: Array<[string, string]> = [
      ['INGEST_API_KEYS', 'good-key-00000000, clé-€uro-0000'],
      ['INGEST_API_KEYS', 'ключ-ключ-ключ'],
      ['INGEST_API_KEYS', 'bell\u0007-key-0000'],
      ['ADMIN_TOKEN', 'admin-token-😀-0123456789'],
      ['ADMIN_TOKEN', 'admin-token-\u0000-0123456789'],
    ];
    for (const [name, value] of cases) {
      const { problems, message } = configError({ [name]: value });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`^${name}: .*Latin-1`));
      for (const part of value.split(',')) expect(message).not.toContain(part.trim());
    }
    // Latin-1 beyond ASCII is fine: a sender writing it as Latin-1 bytes matches.
    const config = parseConfig({ INGEST_API_KEYS: 'clé-café-0000', ADMIN_TOKEN: 'jeton-été-0123456789' });
    expect(config.ingestApiKeys).toEqual(['clé-café-0000']);
    expect(config.adminToken).toBe('jeton-été-0123456789');
  });

  it('refuses TimeBack URLs carrying a user name or password, without echoing them', () => {
    // They would be logged and shown on /readyz with every token problem; the credentials go in their own variables.
    const { problems, message } = configError({
      TIMEBACK_BASE_URL: 'https://client:hunter2-secret@timeback.example.test',
      TIMEBACK_TOKEN_URL: 'https://client:hunter2-secret@auth.example.test/token',
    });
    expect(problems).toEqual([
      'TIMEBACK_BASE_URL: must not carry a user name or password (set TIMEBACK_CLIENT_ID and TIMEBACK_CLIENT_SECRET instead)',
      'TIMEBACK_TOKEN_URL: must not carry a user name or password (set TIMEBACK_CLIENT_ID and TIMEBACK_CLIENT_SECRET instead)',
    ]);
    expect(message).not.toContain('hunter2');
  });

  it('refuses a TIMEBACK_BASE_URL with a query or fragment, which the TimeBack paths would be appended to', () => {
    // Taken, `https://tb.example.test/api?tenant=1` sent events to /api/events/1.0/ with the
    // query dropped, and asked for tokens at /api?tenant=1/auth/1.0/token: the path inside the query.
    const problem = 'TIMEBACK_BASE_URL: must not carry a query (?…) or fragment (#…): /events/1.0/, /rostering/1.0/users and /auth/1.0/token are added to it';
    for (const url of ['https://tb.example.test/api?tenant=1', 'https://tb.example.test/?', 'https://tb.example.test#top']) {
      expect(configError({ TIMEBACK_BASE_URL: url }).problems).toEqual([problem]);
    }
    // The token URL may carry a query: OAuth 2 (RFC 6749, 3.2) keeps it when adding its own parameters.
    expect(parseConfig({ TIMEBACK_TOKEN_URL: 'https://auth.example.test/token?tenant=1' }).timeback.tokenUrl).toBe(
      'https://auth.example.test/token?tenant=1',
    );
  });

  it('refuses a TimeBack URL that is no URL at all with a ConfigError naming the variable, not a TypeError', () => {
    // The credentials check reads the URL; it must not run on text the URL check already refused.
    const { problems } = configError({ TIMEBACK_BASE_URL: 'timeback example test', TIMEBACK_TOKEN_URL: 'https://[auth' });
    expect(problems).toEqual(['TIMEBACK_BASE_URL: must be an http(s) URL', 'TIMEBACK_TOKEN_URL: must be an http(s) URL']);
  });

  it('reads the client secret from TIMEBACK_CLIENT_SECRET_FILE, or names the file and the reason, never its text', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'config-secret-'));
    try {
      const file = path.join(dir, 'client-secret');
      writeFileSync(file, '  file-secret-9a8b7c\n');
      const config = parseConfig({ TIMEBACK_CLIENT_ID: 'client', TIMEBACK_CLIENT_SECRET_FILE: file });
      expect(config.timeback).toMatchObject({ clientSecret: 'file-secret-9a8b7c', clientSecretFile: file });
      expect(missingDeliverySettings(config)).toEqual(['TIMEBACK_APP_ID']);

      const both = configError({ TIMEBACK_CLIENT_SECRET: 'env-secret-1234', TIMEBACK_CLIENT_SECRET_FILE: file });
      expect(both.problems).toEqual(['TIMEBACK_CLIENT_SECRET_FILE: set it or TIMEBACK_CLIENT_SECRET, not both']);
      expect(both.message).not.toMatch(/env-secret|file-secret/);

      expect(configError({ TIMEBACK_CLIENT_SECRET_FILE: path.join(dir, 'missing') }).problems).toEqual([
        `TIMEBACK_CLIENT_SECRET_FILE: cannot read ${path.join(dir, 'missing')} (ENOENT)`,
      ]);
      writeFileSync(file, ' \n');
      expect(configError({ TIMEBACK_CLIENT_SECRET_FILE: file }).problems).toEqual([`TIMEBACK_CLIENT_SECRET_FILE: ${file} is empty`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves TIMEBACK_CLIENT_SECRET_FILE unread for the commands that need no secret, and still refuses it beside TIMEBACK_CLIENT_SECRET', () => {
    const missing = path.join(tmpdir(), 'config-secret-never-made', 'client-secret');
    const config = parseConfig({ TIMEBACK_CLIENT_ID: 'client', TIMEBACK_CLIENT_SECRET_FILE: missing }, { readSecretFile: false });
    expect(config.timeback).toMatchObject({ clientSecret: undefined, clientSecretFile: missing });
    expect(() => parseConfig({ TIMEBACK_CLIENT_SECRET: 'env-secret-1234', TIMEBACK_CLIENT_SECRET_FILE: missing }, { readSecretFile: false })).toThrow(
      'TIMEBACK_CLIENT_SECRET_FILE: set it or TIMEBACK_CLIENT_SECRET, not both',
    );
    expect(configError({ TIMEBACK_CLIENT_SECRET_FILE: missing }).problems).toEqual([`TIMEBACK_CLIENT_SECRET_FILE: cannot read ${missing} (ENOENT)`]);
  });

  it('reads every variable it knows', () => {
    const config = parseConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DB_PATH: '/var/lib/gateway/events.db',
      INGEST_API_KEYS: 'first-key-aaaa, second-key-bbbb',
      ADMIN_TOKEN: 'admin-token-0123456789',
      TIMEBACK_BASE_URL: 'https://timeback.example.test/',
      TIMEBACK_CLIENT_ID: 'client',
      TIMEBACK_CLIENT_SECRET: 'secret',
      TIMEBACK_APP_ID: 'A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF',
      ROSTER_MATCH: 'email, sourcedId',
      MAX_BODY_BYTES: '1048576',
      SHUTDOWN_TIMEOUT: '3',
      LOG_LEVEL: 'DEBUG',
    });
    expect(config).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      dbPath: '/var/lib/gateway/events.db',
      ingestApiKeys: ['first-key-aaaa', 'second-key-bbbb'],
      adminToken: 'admin-token-0123456789',
      maxBodyBytes: 1_048_576,
      shutdownTimeoutMs: 3_000,
      logLevel: 'debug',
      timeback: {
        baseUrl: 'https://timeback.example.test',
        tokenUrl: 'https://timeback.example.test/auth/1.0/token',
        appId: 'a1b2c3d4-e5f6-4711-8899-aabbccddeeff',
      },
      roster: { match: ['email', 'sourcedId'] },
    });
    expect(missingDeliverySettings(config)).toEqual([]);
  });

  it('takes a ROSTER_MATCH strategy named twice once, where first named, and names the repeated ones for a warning', () => {
    const env = { ROSTER_MATCH: 'email, identifier,email,identifier,email' };
    expect(parseConfig(env).roster.match).toEqual(['email', 'identifier']);
    expect(repeatedRosterStrategies(env)).toEqual(['email', 'identifier']);
    expect(describeRepeatedRosterStrategies(['email', 'identifier'])).toBe(
      'ROSTER_MATCH names email, identifier more than once; each strategy is tried once, where first named',
    );
    expect(repeatedRosterStrategies({})).toEqual([]);
    expect(repeatedRosterStrategies({ ROSTER_MATCH: 'sourcedId,email' })).toEqual([]);
    // A name that is no strategy refuses ROSTER_MATCH: that is what to read, not a warning beside it.
    expect(repeatedRosterStrategies({ ROSTER_MATCH: 'email,phone,email' })).toEqual([]);
    expect(configError({ ROSTER_MATCH: 'email,phone,email' }).problems).toEqual(['ROSTER_MATCH: must be among sourcedId, identifier, username, email']);
  });

  it('names the TimeBack URLs that would send the secret unencrypted to another host', () => {
    const urls = (env: Record<string, string>) => plainHttpTimebackUrls(parseConfig(env));
    expect(urls({})).toEqual([]);
    expect(urls({ TIMEBACK_BASE_URL: 'http://127.0.0.1:8099' })).toEqual([]);
    expect(urls({ TIMEBACK_BASE_URL: 'http://localhost:8099', TIMEBACK_TOKEN_URL: 'http://[::1]:8098/token' })).toEqual([]);
    expect(urls({ TIMEBACK_BASE_URL: 'http://timeback.example.test' })).toEqual(['TIMEBACK_BASE_URL', 'TIMEBACK_TOKEN_URL']);
    expect(urls({ TIMEBACK_BASE_URL: 'https://timeback.example.test', TIMEBACK_TOKEN_URL: 'http://auth.example.test/token' })).toEqual([
      'TIMEBACK_TOKEN_URL',
    ]);
  });

  it('lists every bad variable in one error, without echoing values', () => {
    const { problems, message } = configError({
      PORT: 'eighty',
      INGEST_API_KEYS: 'short',
      ADMIN_TOKEN: 'tiny',
      TIMEBACK_BASE_URL: 'ftp://timeback',
      TIMEBACK_APP_ID: 'not-a-uuid',
      ROSTER_MATCH: 'email,phone',
      DELIVERY_CONCURRENCY: '0',
      SHUTDOWN_TIMEOUT: '1.5',
      LOG_LEVEL: 'loud',
    });
    expect(problems.map((problem) => problem.split(':')[0])).toEqual([
      'PORT',
      'INGEST_API_KEYS',
      'ADMIN_TOKEN',
      'TIMEBACK_BASE_URL',
      'TIMEBACK_APP_ID',
      'ROSTER_MATCH',
      'DELIVERY_CONCURRENCY',
      'SHUTDOWN_TIMEOUT',
      'LOG_LEVEL',
    ]);
    expect(message).toMatch(/^Invalid configuration:\n {2}- PORT: /);
    expect(message).not.toMatch(/short|tiny/);
  });

  it('rejects a port out of range', () => {
    expect(() => parseConfig({ PORT: '70000' })).toThrow(/PORT: must be at most 65535/);
  });

  it('takes numbers only as written plainly, with one problem per variable', () => {
    const { problems } = configError({ PORT: '0x1F90', DELIVERY_MAX_AGE: '1e20', DELIVERY_CONCURRENCY: 'Infinity', SHUTDOWN_TIMEOUT: '1.5' });
    expect(problems).toEqual([
      'PORT: must be a port number',
      'DELIVERY_CONCURRENCY: must be a number',
      'DELIVERY_MAX_AGE: must be a number of seconds',
      'SHUTDOWN_TIMEOUT: must be a whole number of seconds',
    ]);
    expect(parseConfig({ PORT: ' 8081 ', DELIVERY_MAX_AGE: '60' })).toMatchObject({ port: 8081, delivery: { maxAgeMs: 60_000 } });
  });

  it('tells a number too large or too small its bound alone, however many digits it has', () => {
    // Past 2^53 zod's int() said "must be a whole number" beside the bound, and past 308 digits
    // (Infinity) "must be a number": the value is a whole number, out of range.
    const settings = ['PORT', 'AUTH_FAILURE_LIMIT', 'AUTH_FAILURE_WINDOW', 'DELIVERY_CONCURRENCY', 'MAX_BYTES_IN_FLIGHT', 'ROSTER_CACHE_TTL', 'SHUTDOWN_TIMEOUT'];
    const tooLarge = [
      'PORT: must be at most 65535',
      'AUTH_FAILURE_LIMIT: must be at most 1000000',
      'AUTH_FAILURE_WINDOW: must be at most 86400',
      'ROSTER_CACHE_TTL: must be at most 9007199254740991',
      'DELIVERY_CONCURRENCY: must be at most 1024',
      'MAX_BYTES_IN_FLIGHT: must be at most 17179869184',
      'SHUTDOWN_TIMEOUT: must be at most 3600',
    ];
    for (const value of ['9007199254740992', '99999999999999999999', '9'.repeat(400), ` ${'9'.repeat(309)}.5 `]) {
      expect(configError(Object.fromEntries(settings.map((name) => [name, value]))).problems).toEqual(tooLarge);
    }
    for (const value of ['-99999999999999999999', `-${'9'.repeat(400)}`]) {
      expect(configError(Object.fromEntries(settings.map((name) => [name, value]))).problems).toEqual([
        'PORT: must be a port number',
        'AUTH_FAILURE_LIMIT: must be at least 0',
        'AUTH_FAILURE_WINDOW: must be at least 1',
        'ROSTER_CACHE_TTL: must be at least 0',
        'DELIVERY_CONCURRENCY: must be at least 1',
        'MAX_BYTES_IN_FLIGHT: must be at least 1',
        'SHUTDOWN_TIMEOUT: must be at least 1',
      ]);
    }
    // What is no plain whole number keeps its message, one per variable.
    expect(configError({ ROSTER_CACHE_TTL: '1e400', SHUTDOWN_TIMEOUT: '10m', DELIVERY_CONCURRENCY: '-1', AUTH_FAILURE_WINDOW: '2.5' }).problems).toEqual([
      'AUTH_FAILURE_WINDOW: must be a whole number of seconds',
      'ROSTER_CACHE_TTL: must be a number of seconds',
      'DELIVERY_CONCURRENCY: must be at least 1',
      'SHUTDOWN_TIMEOUT: must be a number of seconds',
    ]);
    expect(parseConfig({ ROSTER_CACHE_TTL: '', SHUTDOWN_TIMEOUT: '3600' })).toMatchObject({ shutdownTimeoutMs: 3_600_000, roster: { cacheTtlMs: 86_400_000 } });
  });

  it('bounds the timeouts and waits that become timers, which Node would fire after 1 ms past 24.8 days', () => {
    const { problems } = configError({
      TIMEBACK_TOKEN_TIMEOUT: '3000000',
      ROSTER_TIMEOUT: '3000000',
      DELIVERY_TIMEOUT: '3601',
      SHUTDOWN_TIMEOUT: '3601',
      DELIVERY_BACKOFF_CAP: '86401',
    });
    expect(problems).toEqual([
      'TIMEBACK_TOKEN_TIMEOUT: must be at most 3600',
      'ROSTER_TIMEOUT: must be at most 3600',
      'DELIVERY_TIMEOUT: must be at most 3600',
      'DELIVERY_BACKOFF_CAP: must be at most 86400',
      'SHUTDOWN_TIMEOUT: must be at most 3600',
    ]);
    const longest = parseConfig({
      TIMEBACK_TOKEN_TIMEOUT: '3600',
      ROSTER_TIMEOUT: '3600',
      DELIVERY_TIMEOUT: '3600',
      SHUTDOWN_TIMEOUT: '3600',
      DELIVERY_BACKOFF_CAP: '86400',
    });
    expect(longest).toMatchObject({ shutdownTimeoutMs: 3_600_000, delivery: { timeoutMs: 3_600_000, backoffCapMs: 86_400_000 } });
  });
});

describe('unknownSettings', () => {
  it('names a variable under one of our prefixes that is no setting, with the setting it is closest to', () => {
    expect(
      unknownSettings({
        DELIVERY_CONCURENCY: '8',
        TIMEBACK_CLIENTID: 'client',
        ROSTER_CACHE_TTL_SECONDS: '60',
        TIMEBACK_SOMETHING_ELSE_ENTIRELY: 'x',
        DELIVERY_CONCURRENCY: '8',
        TIMEBACK_CLIENT_ID: 'client',
      }),
    ).toEqual([
      { name: 'DELIVERY_CONCURENCY', closest: 'DELIVERY_CONCURRENCY' },
      // Eight letters away from ROSTER_CACHE_TTL: too far to guess.
      { name: 'ROSTER_CACHE_TTL_SECONDS' },
      { name: 'TIMEBACK_CLIENTID', closest: 'TIMEBACK_CLIENT_ID' },
      { name: 'TIMEBACK_SOMETHING_ELSE_ENTIRELY' },
    ]);
  });

  // Two swaps are two edits (plain Levenshtein counted four, too far to guess), so the usual slip
  // at a keyboard is named like a missing or extra letter.
  it('names the setting for a name with letters swapped', () => {
    expect(unknownSettings({ TIMEBACK_CLEINT_SCERET: 'x', ROSTER_NEGTAIVE_TLT: '60', DELIVERY_TIEMOUT: '5' })).toEqual([
      { name: 'DELIVERY_TIEMOUT', closest: 'DELIVERY_TIMEOUT' },
      { name: 'ROSTER_NEGTAIVE_TLT', closest: 'ROSTER_NEGATIVE_TTL' },
      { name: 'TIMEBACK_CLEINT_SCERET', closest: 'TIMEBACK_CLIENT_SECRET' },
    ]);
  });

  it('names a misspelt wrong-key or proxy setting', () => {
    expect(unknownSettings({ AUTH_FAILURE_LIMT: '5', TRUSTED_PROXY: '10.0.0.1', AUTH_FAILURE_LIMIT: '5', TRUSTED_PROXIES: '10.0.0.1', AUTH_SECRET: 'x' })).toEqual([
      { name: 'AUTH_FAILURE_LIMT', closest: 'AUTH_FAILURE_LIMIT' },
      { name: 'TRUSTED_PROXY', closest: 'TRUSTED_PROXIES' },
    ]);
  });

  // The singular is the likely slip: ignored, the gateway would run ./mappings, the shipped rules,
  // instead of the school's own, with nothing said.
  it('names a misspelt rule or fixture folder setting', () => {
    expect(unknownSettings({ MAPPING_DIR: '/srv/rules', FIXTURE_DIR: '/srv/fixtures', MAPPINGS_FOLDER: '/srv/rules', MAPPINGS_DIR: 'm', FIXTURES_DIR: 'f' })).toEqual([
      { name: 'FIXTURE_DIR', closest: 'FIXTURES_DIR' },
      { name: 'MAPPINGS_FOLDER' },
      { name: 'MAPPING_DIR', closest: 'MAPPINGS_DIR' },
    ]);
  });

  it('names a misspelt database path setting, and no other DB_ variable', () => {
    expect(unknownSettings({ DB_PATHH: '/srv/gateway.db', DB_PATH_FILE: 'x', DB_PATH: '/srv/gateway.db', DB_HOST: 'db', DB_PASSWORD: 'x' })).toEqual([
      { name: 'DB_PATHH', closest: 'DB_PATH' },
      { name: 'DB_PATH_FILE' },
    ]);
  });

  // Outside our prefixes only a slip of one letter counts: DB_HOST or LOG_FORMAT is another program's.
  it('names a setting one slip away outside our prefixes, and nothing further or shorter', () => {
    expect(
      unknownSettings({ DB_PAHT: '/srv/gateway.db', LOG_LEVLE: 'debug', LOGLEVEL: 'debug', ADMIN_TOEKN: 'x', MAX_BODY_BYTE: '1', PROT: '1', HOSTS: 'h', ADMIN_TOKEN_FILE: 'x' }),
    ).toEqual([
      { name: 'ADMIN_TOEKN', closest: 'ADMIN_TOKEN' },
      { name: 'DB_PAHT', closest: 'DB_PATH' },
      { name: 'LOGLEVEL', closest: 'LOG_LEVEL' },
      { name: 'LOG_LEVLE', closest: 'LOG_LEVEL' },
      { name: 'MAX_BODY_BYTE', closest: 'MAX_BODY_BYTES' },
    ]);
  });

  // What the kubelet gives every pod for each Service in its namespace (Services named timeback,
  // roster-api and delivery here; the last with a second, named port): the admin cannot remove them.
  it('leaves alone the variables Kubernetes makes for a Service, in the shapes and values it gives them', () => {
    expect(
      unknownSettings({
        TIMEBACK_SERVICE_HOST: '10.0.0.1',
        TIMEBACK_SERVICE_PORT: '80',
        TIMEBACK_PORT: 'tcp://10.0.0.1:80',
        TIMEBACK_PORT_80_TCP: 'tcp://10.0.0.1:80',
        TIMEBACK_PORT_80_TCP_PROTO: 'tcp',
        TIMEBACK_PORT_80_TCP_PORT: '80',
        TIMEBACK_PORT_80_TCP_ADDR: '10.0.0.1',
        ROSTER_API_SERVICE_HOST: 'fd00:10:96::a',
        ROSTER_API_SERVICE_PORT: '8443',
        ROSTER_API_PORT: 'tcp://[fd00:10:96::a]:8443',
        ROSTER_API_PORT_8443_TCP: 'tcp://[fd00:10:96::a]:8443',
        ROSTER_API_PORT_8443_TCP_ADDR: 'fd00:10:96::a',
        DELIVERY_SERVICE_HOST: '10.0.0.7',
        DELIVERY_SERVICE_PORT: '9000',
        DELIVERY_SERVICE_PORT_METRICS: '9100',
        DELIVERY_PORT_9100_UDP: 'udp://10.0.0.7:9100',
        DELIVERY_PORT_9100_UDP_PROTO: 'udp',
        DELIVERY_PORT_9100_SCTP_PORT: '9100',
      }),
    ).toEqual([]);
  });

  // A name in a Kubernetes shape with a value Kubernetes never gives is the admin's own: still said.
  it('still names misspellings, and Kubernetes-shaped names whose value Kubernetes would not give', () => {
    expect(
      unknownSettings({
        TIMEBACK_BASEURL: 'https://api.example.org',
        TIMEBACK_PORT: '8443',
        TIMEBACK_SERVICE_HOST: 'https://api.example.org',
        ROSTER_SERVICE_PORT: 'eighty',
        DELIVERY_PORT_80_TCP_ADDR: 'not an address',
      }),
    ).toEqual([
      { name: 'DELIVERY_PORT_80_TCP_ADDR' },
      { name: 'ROSTER_SERVICE_PORT' },
      { name: 'TIMEBACK_BASEURL', closest: 'TIMEBACK_BASE_URL' },
      { name: 'TIMEBACK_PORT' },
      { name: 'TIMEBACK_SERVICE_HOST' },
    ]);
  });

  it('leaves alone every setting, and variables other programs use', () => {
    const settings = { PORT: '1', HOST: 'h', DB_PATH: 'x', ROSTER_MATCH: 'email', SKIPPED_RETENTION: '0', INGEST_API_KEYS: 'k' };
    expect(
      unknownSettings({ ...settings, PATH: '/bin', DB_HOST: 'db', LOG_FORMAT: 'json', MAX_OLD_SPACE: '1', NODE_ENV: 'production', HOSTNAME: 'h', LOGNAME: 'root', OLDPWD: '/' }),
    ).toEqual([]);
  });
});
