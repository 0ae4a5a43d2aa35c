import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { OAuth2Client, type TokenPayload } from 'google-auth-library';

export type Role = 'viewer' | 'operator';

/** Who is calling, attached to the request by the guard. */
export interface Principal {
  name: string;
  role: Role;
  via: 'token' | 'oidc' | 'none';
}

/** An api token as the authenticator keeps it: only the digest, never the token. */
export interface TokenCredential {
  name: string;
  role: Role;
  /** lowercase hex SHA-256 of the token */
  sha256: string;
}

/** Who may call the api with a Google-signed ID token (gcp profile). */
export interface OidcPolicy {
  /** the `aud` the ID tokens must carry (the api's URL or OAuth client id) */
  audience: string;
  /** lowercase emails */
  operators: readonly string[];
  /** lowercase emails, or 'any' verified Google identity */
  viewers: readonly string[] | 'any';
}

/** Google's signing keys by key id (`kid`), as PEM. */
export type CertSource = () => Promise<Record<string, string>>;

export interface AuthenticatorConfig {
  tokens: readonly TokenCredential[];
  oidc?: OidcPolicy;
  /** default: Google's federated sign-on certificates (fetched and cached by google-auth-library) */
  certs?: CertSource;
}

export type AuthErrorCode =
  | 'missing-header'
  | 'not-bearer'
  | 'unknown-token'
  | 'malformed-id-token'
  | 'unknown-signing-key'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'lifetime-too-long'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'no-email'
  | 'email-not-verified'
  | 'not-allowed';

/** A caller that is not authenticated (401) or not allowed (403). Messages never echo credentials. */
export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

/** Infrastructure failure while authenticating (Google's certificates unreachable): retryable, not the caller's fault. */
export class AuthUnavailableError extends Error {
  readonly code = 'auth-unavailable';
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'AuthUnavailableError';
  }
}

const GOOGLE_ISSUERS = ['accounts.google.com', 'https://accounts.google.com'];
const ANONYMOUS: Principal = Object.freeze({ name: 'anonymous', role: 'operator', via: 'none' });
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function roleAllows(has: Role, needs: Role): boolean {
  return has === 'operator' || needs === 'viewer';
}

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Google's published certificates, fetched through one client so its cache (Cache-Control) is reused. */
export function googleFederatedCerts(client: OAuth2Client = new OAuth2Client()): CertSource {
  return async () => {
    const { certs } = await client.getFederatedSignonCertsAsync();
    const pems = Object.entries(certs).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    );
    return Object.fromEntries(pems);
  };
}

/** Turns an Authorization header into a Principal: api tokens (sha256 digests) and Google ID tokens. */
export class Authenticator {
  readonly enabled: boolean;
  private readonly tokens: readonly { name: string; role: Role; digest: Buffer }[];
  private readonly oidc: OidcPolicy | undefined;
  private readonly certs: CertSource;
  // only its JWT verification is used, which needs no credentials or network
  private readonly verifier = new OAuth2Client();

  constructor(config: AuthenticatorConfig) {
    this.tokens = config.tokens.map((t) => ({
      name: t.name,
      role: t.role,
      digest: Buffer.from(t.sha256, 'hex'),
    }));
    this.oidc = config.oidc;
    this.certs = config.certs ?? googleFederatedCerts();
    this.enabled = this.tokens.length > 0 || this.oidc !== undefined;
  }

  async authenticate(authorizationHeader: string | undefined): Promise<Principal> {
    if (!this.enabled) return ANONYMOUS;
    const credential = bearerCredential(authorizationHeader);
    const byToken = this.matchToken(credential);
    if (byToken) return byToken;
    if (this.oidc && JWT_SHAPE.test(credential)) return this.verifyIdToken(credential, this.oidc);
    throw new AuthError(
      401,
      'unknown-token',
      this.oidc
        ? 'the bearer token is neither a configured api token nor a Google ID token'
        : 'unknown api token',
    );
  }

  private matchToken(credential: string): Principal | undefined {
    const digest = createHash('sha256').update(credential, 'utf8').digest();
    let found: Principal | undefined;
    // every digest is compared, so the time taken does not tell which entry matched
    for (const t of this.tokens) {
      if (timingSafeEqual(digest, t.digest) && !found) {
        found = { name: t.name, role: t.role, via: 'token' };
      }
    }
    return found;
  }

  private async verifyIdToken(jwt: string, policy: OidcPolicy): Promise<Principal> {
    const certs = await this.fetchCerts();
    let payload: TokenPayload | undefined;
    try {
      const ticket = await this.verifier.verifySignedJwtWithCertsAsync(
        jwt,
        certs,
        policy.audience,
        GOOGLE_ISSUERS,
      );
      payload = ticket.getPayload();
    } catch (err) {
      throw idTokenError(err, policy.audience);
    }
    return principalFor(payload, policy);
  }

  private async fetchCerts(): Promise<Record<string, string>> {
    try {
      return await this.certs();
    } catch (err) {
      throw new AuthUnavailableError("could not fetch Google's ID token signing certificates", {
        cause: err,
      });
    }
  }
}

function bearerCredential(header: string | undefined): string {
  if (header === undefined || header.trim() === '') {
    throw new AuthError(
      401,
      'missing-header',
      'missing Authorization header: send "Authorization: Bearer <token>"',
    );
  }
  const match = BEARER.exec(header.trim());
  if (!match) {
    throw new AuthError(
      401,
      'not-bearer',
      'the Authorization header is not a bearer token: send "Authorization: Bearer <token>"',
    );
  }
  return match[1];
}

/**
 * google-auth-library's messages embed the whole JWT, which must not reach a response or a log
 * (a token with the wrong audience is still valid elsewhere), so they are mapped to our own.
 */
function idTokenError(err: unknown, audience: string): AuthError {
  const message = err instanceof Error ? err.message : '';
  const rules: [string, AuthErrorCode, string][] = [
    ['No pem found', 'unknown-signing-key', 'the ID token is not signed by a current Google key'],
    ['Invalid token signature', 'bad-signature', 'the ID token signature is invalid'],
    ['Token used too late', 'expired', 'the ID token has expired'],
    ['Token used too early', 'not-yet-valid', 'the ID token is not valid yet'],
    ['Expiration time too far', 'lifetime-too-long', 'the ID token expires too far in the future'],
    ['Invalid issuer', 'wrong-issuer', 'the ID token was not issued by accounts.google.com'],
    [
      'Wrong recipient',
      'wrong-audience',
      `the ID token was issued for another audience (expected "${audience}")`,
    ],
  ];
  const rule = rules.find(([prefix]) => message.startsWith(prefix));
  if (rule) return new AuthError(401, rule[1], rule[2]);
  return new AuthError(401, 'malformed-id-token', 'the ID token is malformed');
}

function principalFor(payload: TokenPayload | undefined, policy: OidcPolicy): Principal {
  const email = payload?.email?.toLowerCase();
  if (!email) {
    throw new AuthError(
      401,
      'no-email',
      'the ID token carries no email: request it with the email scope or use a service account identity token',
    );
  }
  // Google sends a boolean; some older tokens carried the string "true"
  const verified: unknown = payload?.email_verified;
  if (verified !== true && verified !== 'true') {
    throw new AuthError(401, 'email-not-verified', `the email ${email} is not verified by Google`);
  }
  if (policy.operators.includes(email)) return { name: email, role: 'operator', via: 'oidc' };
  if (policy.viewers === 'any' || policy.viewers.includes(email)) {
    return { name: email, role: 'viewer', via: 'oidc' };
  }
  throw new AuthError(
    403,
    'not-allowed',
    `${email} is not allowed to use the api: it is neither an operator nor a viewer`,
  );
}

/** 127.0.0.0/8, ::1 (also written in full or IPv4-mapped) and localhost. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (!isIPv6(h)) return false;
  // the URL parser compresses IPv6 (0:0:0:0:0:0:0:1 -> ::1, ::ffff:127.0.0.1 -> ::ffff:7f00:1)
  const compressed = new URL(`http://[${h}]/`).hostname.slice(1, -1);
  return compressed === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(compressed);
}

/** Refuses to expose an api that anyone reaching the address could use as an operator. */
export function assertSafeBind(host: string, authEnabled: boolean): void {
  if (authEnabled || isLoopback(host)) return;
  throw new Error(
    `the api refuses to listen on ${host || '(all interfaces)'} with authentication disabled: ` +
      'anyone who can reach it could request runs. Configure api tokens, either ' +
      'ALMANAC_API_TOKENS="name:operator:<token>,name:viewer:<token>" (tokens of 16 characters or more) ' +
      'or api.auth.tokens in almanac.config.ts with the sha256 of each token ' +
      '(printf %s "$TOKEN" | sha256sum), or OIDC (ALMANAC_OIDC_AUDIENCE and ALMANAC_OIDC_OPERATORS), ' +
      'or listen on 127.0.0.1.',
  );
}
