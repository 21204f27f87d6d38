/**
 * A small, real TokenProvider for tests: OAuth client credentials against the emulator's
 * token endpoint, one token cached, one refresh shared by concurrent callers. It stands in
 * for the production provider only until that lands; it is not a mock (real HTTP, real
 * expiry via the emulator's validTokens).
 */
import { TokenError, type TokenProvider } from '../../src/timeback/token-provider.ts';

export interface CountingTokenProvider extends TokenProvider {
  /** Token requests made. */
  readonly fetches: number;
}

export function emulatorTokenProvider(tokenUrl: string, clientId: string, clientSecret: string): CountingTokenProvider {
  let current: string | undefined;
  let refreshing: Promise<string> | undefined;
  let fetches = 0;

  async function fetchToken(): Promise<string> {
    fetches += 1;
    let response: Response;
    try {
      response = await fetch(tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
    } catch (err) {
      throw new TokenError('token endpoint unreachable', true, { cause: err });
    }
    if (response.status === 401 || response.status === 400) {
      throw new TokenError(`token endpoint refused the credentials (HTTP ${response.status})`, false);
    }
    if (!response.ok) throw new TokenError(`token endpoint answered HTTP ${response.status}`, true);
    const body = (await response.json()) as { access_token: string };
    return body.access_token;
  }

  return {
    configured: true,
    get fetches() {
      return fetches;
    },
    getToken() {
      if (current !== undefined) return Promise.resolve(current);
      refreshing ??= fetchToken()
        .then((token) => {
          current = token;
          return token;
        })
        .finally(() => {
          refreshing = undefined;
        });
      return refreshing;
    },
    invalidate(token) {
      if (current === token) current = undefined;
    },
  };
}
