/**
 * The baselines' one bearer token: client credentials against the emulator's token endpoint,
 * from TIMEBACK_BASE_URL, TIMEBACK_CLIENT_ID and TIMEBACK_CLIENT_SECRET. Fetched once at
 * start, which is kind to the baselines (the gateway refreshes its own as it expires).
 */
export async function fetchEmulatorToken(): Promise<string> {
  const env = process.env;
  const basic = Buffer.from(`${env.TIMEBACK_CLIENT_ID}:${env.TIMEBACK_CLIENT_SECRET}`).toString('base64');
  const response = await fetch(`${env.TIMEBACK_BASE_URL}/auth/1.0/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  if (!response.ok) throw new Error(`the emulator refused the client credentials: HTTP ${response.status}`);
  const { access_token: token } = (await response.json()) as { access_token: string };
  return token;
}
