import { type ApiAuthSettings, Email, RoleSchema } from '@almanac/platform';
import {
  Authenticator,
  sha256Hex,
  type CertSource,
  type OidcPolicy,
  type Role,
  type TokenCredential,
} from './authenticator';

const MIN_TOKEN_LENGTH = 16;
// RFC 6750 b64token: what an Authorization header can carry unquoted
const TOKEN_CHARS = /^[A-Za-z0-9\-._~+/]+=*$/;

export class AuthConfigError extends Error {
  readonly code = 'invalid-auth-config';
  constructor(message: string) {
    super(message);
    this.name = 'AuthConfigError';
  }
}

/**
 * Parses ALMANAC_API_TOKENS (`name:role:token,...`) into digests. Errors name the entry (counted
 * from 1) and never repeat any part of it: a swapped field could be the token.
 */
export function parseEnvTokens(value: string | undefined): TokenCredential[] {
  if (value === undefined || value.trim() === '') return [];
  const problems: string[] = [];
  const tokens: TokenCredential[] = [];
  value.split(',').forEach((raw, i) => {
    const entry = raw.trim();
    if (entry === '') return; // a trailing or doubled comma is harmless
    const parsed = parseEnvToken(entry);
    if (typeof parsed === 'string') problems.push(`entry ${i + 1}: ${parsed}`);
    else tokens.push(parsed);
  });
  if (problems.length > 0) {
    throw new AuthConfigError(`ALMANAC_API_TOKENS is invalid: ${problems.join('; ')}`);
  }
  return tokens;
}

/** a credential, or what is wrong with the entry */
function parseEnvToken(entry: string): TokenCredential | string {
  const first = entry.indexOf(':');
  const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
  if (second < 0) return 'expected name:role:token';
  const name = entry.slice(0, first).trim();
  const role = entry.slice(first + 1, second).trim();
  const token = entry.slice(second + 1).trim();
  if (name === '') return 'the name is empty';
  if (!RoleSchema.safeParse(role).success) return 'the role must be "viewer" or "operator"';
  if (token.length < MIN_TOKEN_LENGTH) {
    return `the token is shorter than ${MIN_TOKEN_LENGTH} characters`;
  }
  if (!TOKEN_CHARS.test(token)) {
    return 'the token has characters a bearer header cannot carry (use letters, digits and - . _ ~ + / =)';
  }
  return { name, role: role as Role, sha256: sha256Hex(token) };
}

function envList(env: NodeJS.ProcessEnv, key: string): string[] | undefined {
  const value = env[key]?.trim();
  if (!value) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function envEmails(env: NodeJS.ProcessEnv, key: string): string[] | undefined {
  const list = envList(env, key);
  if (!list) return undefined;
  return list.map((item, i) => {
    const parsed = Email.safeParse(item);
    if (!parsed.success) {
      throw new AuthConfigError(`${key} entry ${i + 1}: "${item}" is not an email address`);
    }
    return parsed.data;
  });
}

/** The environment overrides the config block field by field (deployments set env, repos commit config). */
function resolveOidc(
  settings: ApiAuthSettings['oidc'],
  env: NodeJS.ProcessEnv,
): OidcPolicy | undefined {
  const audience = env.ALMANAC_OIDC_AUDIENCE?.trim() || settings?.audience;
  const operators = envEmails(env, 'ALMANAC_OIDC_OPERATORS') ?? settings?.operators;
  const viewersEnv = envList(env, 'ALMANAC_OIDC_VIEWERS');
  const viewers =
    viewersEnv?.length === 1 && viewersEnv[0].toLowerCase() === 'any'
      ? 'any'
      : (envEmails(env, 'ALMANAC_OIDC_VIEWERS') ?? settings?.viewers);
  if (!audience) {
    if (operators?.length || viewers === 'any' || viewers?.length) {
      throw new AuthConfigError(
        'OIDC operators or viewers are set but no audience: set ALMANAC_OIDC_AUDIENCE (or api.auth.oidc.audience) to the api URL the ID tokens are issued for',
      );
    }
    return undefined;
  }
  return { audience, operators: operators ?? [], viewers: viewers ?? [] };
}

function assertDistinct(tokens: readonly TokenCredential[]): void {
  const byName = new Map<string, TokenCredential>();
  const byDigest = new Map<string, TokenCredential>();
  for (const t of tokens) {
    if (byName.has(t.name)) {
      throw new AuthConfigError(`api token name "${t.name}" is configured more than once`);
    }
    const same = byDigest.get(t.sha256);
    if (same) {
      throw new AuthConfigError(
        `api tokens "${same.name}" and "${t.name}" are the same token: give each caller its own`,
      );
    }
    byName.set(t.name, t);
    byDigest.set(t.sha256, t);
  }
}

/**
 * Builds the api's authenticator from `api.auth` in almanac.config.ts and the environment
 * (ALMANAC_API_TOKENS, ALMANAC_OIDC_AUDIENCE, ALMANAC_OIDC_OPERATORS, ALMANAC_OIDC_VIEWERS).
 * Nothing configured: auth is disabled (see assertSafeBind).
 */
export function resolveAuth(opts: {
  settings?: ApiAuthSettings;
  env: NodeJS.ProcessEnv;
  oidcCerts?: CertSource;
  /**
   * accepted as well when auth is on, never turning it on: the token `almanac serve` makes at
   * start for the CLI of its machine (server.json)
   */
  localTokens?: readonly TokenCredential[];
}): Authenticator {
  const tokens = [...(opts.settings?.tokens ?? []), ...parseEnvTokens(opts.env.ALMANAC_API_TOKENS)];
  assertDistinct(tokens);
  const oidc = resolveOidc(opts.settings?.oidc, opts.env);
  const on = tokens.length > 0 || oidc !== undefined;
  return new Authenticator({
    tokens: on ? [...tokens, ...(opts.localTokens ?? [])] : tokens,
    oidc,
    certs: opts.oidcCerts,
  });
}
