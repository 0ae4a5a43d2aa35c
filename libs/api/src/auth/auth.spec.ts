import 'reflect-metadata';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { Controller, Get, Module, Post, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthConfigError, parseEnvTokens, resolveAuth } from './auth-config';
import { ApiAuthSettings, Public } from '@almanac/platform';
import { authProviders, Caller, RequireRole } from './auth.guard';
import {
  assertSafeBind,
  AuthError,
  AuthUnavailableError,
  sha256Hex,
  type Authenticator,
  type CertSource,
  type Principal,
} from './authenticator';

const OPERATOR_TOKEN = 'op-token-0123456789abcdef';
const VIEWER_TOKEN = 'view-token-0123456789abcdef';
const AUDIENCE = 'https://almanac-api.example.run.app';

/** the rejection an authenticate call ends with (fails the test when it resolves) */
async function rejectionOf(promise: Promise<unknown>): Promise<AuthError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome))
    throw new Error(`expected a rejection, got ${JSON.stringify(outcome)}`);
  if (!(outcome.error instanceof AuthError)) throw outcome.error;
  return outcome.error;
}

function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof Error) return err;
    throw err;
  }
  throw new Error('expected an error, none was thrown');
}

describe('auth settings', () => {
  it('given ALMANAC_API_TOKENS with two entries, when resolved, then each token authenticates with its role', async () => {
    const env = {
      ALMANAC_API_TOKENS: ` ci:operator:${OPERATOR_TOKEN} , dashboard:viewer:${VIEWER_TOKEN},`,
    };

    const auth = resolveAuth({ env });

    expect(auth.enabled).toBe(true);
    await expect(auth.authenticate(`Bearer ${OPERATOR_TOKEN}`)).resolves.toEqual({
      name: 'ci',
      role: 'operator',
      via: 'token',
    });
    await expect(auth.authenticate(`Bearer ${VIEWER_TOKEN}`)).resolves.toEqual({
      name: 'dashboard',
      role: 'viewer',
      via: 'token',
    });
  });

  it('given an env entry, when parsed, then only the digest of its token is kept', () => {
    expect(parseEnvTokens(`ci:operator:${OPERATOR_TOKEN}`)).toEqual([
      { name: 'ci', role: 'operator', sha256: sha256Hex(OPERATOR_TOKEN) },
    ]);
  });

  it.each([
    [
      'an unknown role',
      `a:viewer:${VIEWER_TOKEN},b:admin:${OPERATOR_TOKEN}`,
      'entry 2: the role must be "viewer" or "operator"',
      OPERATOR_TOKEN,
    ],
    [
      'a swapped role and token',
      `ci:${OPERATOR_TOKEN}:operator`,
      'entry 1: the role must be "viewer" or "operator"',
      OPERATOR_TOKEN,
    ],
    [
      'a short token',
      'ci:operator:s3cret-short',
      'entry 1: the token is shorter than 16 characters',
      's3cret-short',
    ],
    ['a missing role', `ci-${OPERATOR_TOKEN}`, 'entry 1: expected name:role:token', OPERATOR_TOKEN],
    ['an empty name', `:viewer:${VIEWER_TOKEN}`, 'entry 1: the name is empty', VIEWER_TOKEN],
    [
      'a token a header cannot carry',
      'ci:viewer:secret"quote-0123456789',
      'entry 1: the token has characters a bearer header cannot carry',
      'secret"quote',
    ],
  ])(
    'given an env entry with %s, when parsed, then the error names the entry and hides the token',
    (_case, value, expected, secret) => {
      const err = thrownBy(() => parseEnvTokens(value));

      expect(err).toBeInstanceOf(AuthConfigError);
      expect(err.message).toContain('ALMANAC_API_TOKENS is invalid');
      expect(err.message).toContain(expected);
      expect(err.message).not.toContain(secret);
    },
  );

  it('given several bad entries, when parsed, then every one is reported', () => {
    const err = thrownBy(() =>
      parseEnvTokens(`a:boss:${VIEWER_TOKEN},b:viewer:${VIEWER_TOKEN},c:viewer:x`),
    );

    expect(err.message).toBe(
      'ALMANAC_API_TOKENS is invalid: entry 1: the role must be "viewer" or "operator"; entry 3: the token is shorter than 16 characters',
    );
  });

  it('given config tokens as sha256 digests, when resolved, then the matching token authenticates', async () => {
    const settings = ApiAuthSettings.parse({
      tokens: [{ name: 'ops', role: 'operator', sha256: sha256Hex(OPERATOR_TOKEN).toUpperCase() }],
    });

    const auth = resolveAuth({ settings, env: {} });

    await expect(auth.authenticate(`Bearer ${OPERATOR_TOKEN}`)).resolves.toEqual({
      name: 'ops',
      role: 'operator',
      via: 'token',
    });
  });

  it('given a config token whose sha256 is the token itself, when parsed, then it is refused without echoing it', () => {
    const parsed = ApiAuthSettings.safeParse({
      tokens: [{ name: 'ops', role: 'operator', sha256: OPERATOR_TOKEN }],
    });

    expect(parsed.success).toBe(false);
    const text = JSON.stringify(parsed.error?.issues);
    expect(text).toContain("sha256 must be the 64 hex digits of the token's SHA-256");
    expect(text).not.toContain(OPERATOR_TOKEN);
  });

  it('given the same name in config and env, when resolved, then it is an error', () => {
    const settings = ApiAuthSettings.parse({
      tokens: [{ name: 'ci', role: 'viewer', sha256: sha256Hex(VIEWER_TOKEN) }],
    });

    const err = thrownBy(() =>
      resolveAuth({ settings, env: { ALMANAC_API_TOKENS: `ci:operator:${OPERATOR_TOKEN}` } }),
    );

    expect(err.message).toBe('api token name "ci" is configured more than once');
  });

  it('given one token under two names, when resolved, then it is an error', () => {
    const env = { ALMANAC_API_TOKENS: `a:viewer:${VIEWER_TOKEN},b:operator:${VIEWER_TOKEN}` };

    expect(() => resolveAuth({ env })).toThrow('api tokens "a" and "b" are the same token');
  });

  it('given nothing configured, when a request comes without a header, then it is the anonymous operator', async () => {
    const auth = resolveAuth({ env: { ALMANAC_API_TOKENS: ' ' } });

    expect(auth.enabled).toBe(false);
    await expect(auth.authenticate(undefined)).resolves.toEqual({
      name: 'anonymous',
      role: 'operator',
      via: 'none',
    });
  });

  it('given a local token (almanac serve makes one for the CLI), when auth is configured, then it authenticates too; when not, auth stays off', async () => {
    const LOCAL = 'local-token-0123456789abcdef';
    const localTokens = [{ name: 'cli', role: 'operator' as const, sha256: sha256Hex(LOCAL) }];

    const on = resolveAuth({
      env: { ALMANAC_API_TOKENS: `ci:viewer:${VIEWER_TOKEN}` },
      localTokens,
    });
    const off = resolveAuth({ env: {}, localTokens });

    await expect(on.authenticate(`Bearer ${LOCAL}`)).resolves.toEqual({
      name: 'cli',
      role: 'operator',
      via: 'token',
    });
    await expect(on.authenticate(`Bearer ${VIEWER_TOKEN}`)).resolves.toMatchObject({ name: 'ci' });
    expect(off.enabled).toBe(false);
    await expect(off.authenticate(undefined)).resolves.toMatchObject({ via: 'none' });
  });

  it('given OIDC operators but no audience, when resolved, then the error says to set the audience', () => {
    expect(() => resolveAuth({ env: { ALMANAC_OIDC_OPERATORS: 'ops@example.com' } })).toThrow(
      'set ALMANAC_OIDC_AUDIENCE',
    );
  });

  it('given a bad OIDC operator email, when resolved, then the error names the variable and the entry', () => {
    const env = { ALMANAC_OIDC_AUDIENCE: AUDIENCE, ALMANAC_OIDC_OPERATORS: 'a@example.com,bob' };

    expect(() => resolveAuth({ env })).toThrow(
      'ALMANAC_OIDC_OPERATORS entry 2: "bob" is not an email address',
    );
  });
});

describe('token authentication', () => {
  const auth = resolveAuth({
    env: { ALMANAC_API_TOKENS: `ci:operator:${OPERATOR_TOKEN},dash:viewer:${VIEWER_TOKEN}` },
  });

  it('given a viewer token with a lowercase scheme, when authenticated, then the caller is the viewer', async () => {
    await expect(auth.authenticate(`bearer ${VIEWER_TOKEN}`)).resolves.toEqual({
      name: 'dash',
      role: 'viewer',
      via: 'token',
    });
  });

  it.each([
    ['no header', undefined, 'missing-header', 'missing Authorization header'],
    ['an unknown token', 'Bearer not-a-configured-token-123', 'unknown-token', 'unknown api token'],
    [
      'a basic credential',
      `Basic ${Buffer.from(`ci:${OPERATOR_TOKEN}`).toString('base64')}`,
      'not-bearer',
      'is not a bearer token',
    ],
    ['a bare token', OPERATOR_TOKEN, 'not-bearer', 'is not a bearer token'],
    ['a token with a suffix', `Bearer ${OPERATOR_TOKEN}x`, 'unknown-token', 'unknown api token'],
  ])('given %s, when authenticated, then 401', async (_case, header, code, message) => {
    const err = await rejectionOf(auth.authenticate(header));

    expect(err).toMatchObject({ status: 401, code });
    expect(err.message).toContain(message);
    expect(err.message).not.toContain(OPERATOR_TOKEN);
  });
});

describe('Google ID token authentication', () => {
  const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const keyPair = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
  const google = keyPair();
  const other = keyPair();
  const certs: CertSource = async () => ({
    'google-kid': google.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  });

  function idToken(
    claims: Record<string, unknown> = {},
    opts: { key?: KeyObject; kid?: string } = {},
  ): string {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url({ alg: 'RS256', typ: 'JWT', kid: opts.kid ?? 'google-kid' });
    const payload = b64url({
      iss: 'https://accounts.google.com',
      aud: AUDIENCE,
      sub: '1234567890',
      email: 'Ops@Example.com',
      email_verified: true,
      iat: now - 60,
      exp: now + 3000,
      ...claims,
    });
    const signature = sign(
      'RSA-SHA256',
      Buffer.from(`${header}.${payload}`),
      opts.key ?? google.privateKey,
    );
    return `${header}.${payload}.${signature.toString('base64url')}`;
  }

  const env = {
    ALMANAC_OIDC_AUDIENCE: AUDIENCE,
    ALMANAC_OIDC_OPERATORS: 'ops@example.com',
    ALMANAC_OIDC_VIEWERS: 'reader@example.com',
    ALMANAC_API_TOKENS: `ci:operator:${OPERATOR_TOKEN}`,
  };
  const auth = resolveAuth({ env, oidcCerts: certs });

  it('given a valid ID token of a listed operator, when authenticated, then the caller is that operator', async () => {
    await expect(auth.authenticate(`Bearer ${idToken()}`)).resolves.toEqual({
      name: 'ops@example.com',
      role: 'operator',
      via: 'oidc',
    });
  });

  it('given a listed viewer, when authenticated, then the caller is a viewer', async () => {
    await expect(
      auth.authenticate(`Bearer ${idToken({ email: 'reader@example.com' })}`),
    ).resolves.toMatchObject({ name: 'reader@example.com', role: 'viewer' });
  });

  it('given OIDC as well, when an api token is presented, then it still authenticates', async () => {
    await expect(auth.authenticate(`Bearer ${OPERATOR_TOKEN}`)).resolves.toMatchObject({
      name: 'ci',
      via: 'token',
    });
  });

  it.each([
    [
      'another audience',
      () => idToken({ aud: 'https://elsewhere.example' }),
      'wrong-audience',
      `issued for another audience (expected "${AUDIENCE}")`,
    ],
    [
      'an expired token',
      () =>
        idToken({
          iat: Math.floor(Date.now() / 1000) - 7200,
          exp: Math.floor(Date.now() / 1000) - 3600,
        }),
      'expired',
      'the ID token has expired',
    ],
    [
      'a token signed by another key',
      () => idToken({}, { key: other.privateKey }),
      'bad-signature',
      'signature is invalid',
    ],
    [
      'a key id Google does not publish',
      () => idToken({}, { kid: 'someone-else', key: other.privateKey }),
      'unknown-signing-key',
      'not signed by a current Google key',
    ],
    [
      'another issuer',
      () => idToken({ iss: 'https://issuer.example' }),
      'wrong-issuer',
      'not issued by accounts.google.com',
    ],
    [
      'an unverified email',
      () => idToken({ email_verified: false }),
      'email-not-verified',
      'ops@example.com is not verified',
    ],
    ['no email', () => idToken({ email: undefined }), 'no-email', 'carries no email'],
  ])(
    'given %s, when authenticated, then 401 without echoing the token',
    async (_case, make, code, message) => {
      const jwt = make();

      const err = await rejectionOf(auth.authenticate(`Bearer ${jwt}`));

      expect(err).toMatchObject({ status: 401, code });
      expect(err.message).toContain(message);
      expect(err.message).not.toContain(jwt.split('.')[1]);
    },
  );

  it('given a verified email that is not listed, when authenticated, then 403', async () => {
    const err = await rejectionOf(
      auth.authenticate(`Bearer ${idToken({ email: 'eve@example.com' })}`),
    );

    expect(err).toMatchObject({ status: 403, code: 'not-allowed' });
    expect(err.message).toBe(
      'eve@example.com is not allowed to use the api: it is neither an operator nor a viewer',
    );
  });

  it('given viewers "any" in config, when an unlisted verified email calls, then it is a viewer', async () => {
    const settings = ApiAuthSettings.parse({ oidc: { audience: AUDIENCE, viewers: 'any' } });
    const open = resolveAuth({ settings, env: {}, oidcCerts: certs });

    await expect(
      open.authenticate(`Bearer ${idToken({ email: 'eve@example.com' })}`),
    ).resolves.toEqual({ name: 'eve@example.com', role: 'viewer', via: 'oidc' });
  });

  it('given the certificates cannot be fetched, when authenticated, then the failure is not blamed on the caller', async () => {
    const down = resolveAuth({
      env,
      oidcCerts: async () => {
        throw new Error('getaddrinfo ENOTFOUND www.googleapis.com');
      },
    });

    await expect(down.authenticate(`Bearer ${idToken()}`)).rejects.toBeInstanceOf(
      AuthUnavailableError,
    );
  });
});

describe('assertSafeBind', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    'localhost',
    'LOCALHOST',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
  ])('given auth disabled, when binding %s, then it is allowed', (host) => {
    expect(() => assertSafeBind(host, false)).not.toThrow();
  });

  it.each(['0.0.0.0', '::', '10.1.2.3', '128.0.0.1', '::ffff:10.0.0.1', 'api.example.com', ''])(
    'given auth disabled, when binding "%s", then it is refused with how to configure tokens',
    (host) => {
      const err = thrownBy(() => assertSafeBind(host, false));

      expect(err.message).toContain('the api refuses to listen on');
      expect(err.message).toContain('with authentication disabled');
      expect(err.message).toContain('ALMANAC_API_TOKENS="name:operator:<token>');
    },
  );

  it('given auth enabled, when binding all interfaces, then it is allowed', () => {
    expect(() => assertSafeBind('0.0.0.0', true)).not.toThrow();
  });
});

@Controller('things')
class ThingsController {
  @Get()
  list(@Caller() caller: Principal | undefined) {
    return { caller };
  }

  @Post()
  create(@Caller() caller: Principal | undefined) {
    return { createdBy: caller?.name };
  }

  @Public()
  @Get('public')
  open(@Caller() caller: Principal | undefined) {
    return { ok: true, caller: caller ?? null };
  }

  @RequireRole('operator')
  @Get('secret')
  secret() {
    return { secret: true };
  }
}

async function startApp(
  authenticator: Authenticator,
): Promise<{ app: INestApplication; url: string }> {
  @Module({ controllers: [ThingsController], providers: authProviders(authenticator) })
  class TestModule {}
  const app = await NestFactory.create(TestModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: await app.getUrl() };
}

describe('ApiAuthGuard in a Nest app', () => {
  let app: INestApplication;
  let url: string;
  const call = (path: string, token?: string, method = 'GET') =>
    fetch(`${url}${path}`, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  beforeAll(async () => {
    const auth = resolveAuth({
      env: { ALMANAC_API_TOKENS: `ci:operator:${OPERATOR_TOKEN},dash:viewer:${VIEWER_TOKEN}` },
    });
    ({ app, url } = await startApp(auth));
  });
  afterAll(async () => {
    await app.close();
  });

  it('given no token, when reading, then 401 with a bearer challenge and a JSON body', async () => {
    const res = await call('/things');

    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="almanac"');
    expect(await res.json()).toEqual({
      statusCode: 401,
      message: 'missing Authorization header: send "Authorization: Bearer <token>"',
    });
  });

  it('given an unknown token, when reading, then 401 flagged as an invalid token', async () => {
    const res = await call('/things', 'not-a-configured-token-123');

    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="almanac", error="invalid_token"',
    );
    expect(await res.json()).toEqual({ statusCode: 401, message: 'unknown api token' });
  });

  it('given a viewer token, when reading, then 200 and the handler sees the caller', async () => {
    const res = await call('/things', VIEWER_TOKEN);

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ caller: { name: 'dash', role: 'viewer', via: 'token' } });
  });

  it('given a viewer token, when posting, then 403 naming the needed and the held role', async () => {
    const res = await call('/things', VIEWER_TOKEN, 'POST');

    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(await res.json()).toEqual({
      statusCode: 403,
      message: 'this call needs the operator role; dash has the viewer role',
    });
  });

  it('given an operator token, when posting, then 201', async () => {
    const res = await call('/things', OPERATOR_TOKEN, 'POST');

    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ createdBy: 'ci' });
  });

  it('given a viewer token, when reading a route that requires operator, then 403', async () => {
    expect((await call('/things/secret', VIEWER_TOKEN)).status).toBe(403);
    expect((await call('/things/secret', OPERATOR_TOKEN)).status).toBe(200);
  });

  it('given no token, when reading a public route, then 200', async () => {
    const res = await call('/things/public');

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, caller: null });
  });
});

describe('ApiAuthGuard with auth disabled', () => {
  it('given nothing configured, when posting without a token, then the anonymous operator is let through', async () => {
    const { app, url } = await startApp(resolveAuth({ env: {} }));
    try {
      const res = await fetch(`${url}/things`, { method: 'POST' });

      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ createdBy: 'anonymous' });
    } finally {
      await app.close();
    }
  });
});
