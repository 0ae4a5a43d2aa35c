import { isLoopback } from '../auth/authenticator';

/**
 * What a web page can make a browser send to the api without the api's consent: a form post
 * (CSRF: urlencoded, multipart or text/plain, no preflight), and any request under a name of the
 * page's own that resolves to the api's address (DNS rebinding: the browser then treats the api
 * as same-origin). With no tokens configured (the default on loopback) nothing else stops them.
 */

/** Names and origins the operator vouches for, beyond the address the api listens on. */
export interface BrowserSafetySettings {
  /** host names (lowercase, no port; IPv6 in brackets) the api may be reached as */
  allowedHosts: readonly string[];
  /** origins (scheme://host[:port]) whose pages may call the api cross-origin (CORS) */
  allowedOrigins: readonly string[];
}

export class BrowserSafetyConfigError extends Error {
  readonly code = 'invalid-browser-safety-config';
  constructor(message: string) {
    super(message);
    this.name = 'BrowserSafetyConfigError';
  }
}

const HOST_NAME = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)$/i;
// a Host header: a name or an address, then an optional port (RFC 9110 §7.2)
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::(\d{1,5}))?$/i;

/** the non-empty entries of a comma-separated variable, labelled by their position (counted from 1) */
function envEntries(env: NodeJS.ProcessEnv, name: string): { value: string; label: string }[] {
  return (env[name] ?? '')
    .split(',')
    .map((raw, i) => ({ value: raw.trim(), label: `${name} entry ${i + 1}:` }))
    .filter((e) => e.value !== '');
}

/** The URL parser's form of a host name: lowercase, IPv6 compressed and bracketed. */
function canonicalHost(name: string): string | null {
  try {
    return new URL(`http://${name}/`).hostname;
  } catch {
    return null;
  }
}

/** label: where the entry came from, as the operator wrote it ("ALMANAC_ALLOWED_HOSTS entry 2:") */
function parseHost(entry: string, label: string): string {
  const name = HOST_NAME.test(entry) ? canonicalHost(entry) : null;
  if (name === null) {
    throw new BrowserSafetyConfigError(
      `${label} "${entry}" is not a host name: give the names the api is reached as ` +
        '(almanac.internal, 10.0.0.5, [fd00::5]), without scheme, port, path or wildcards',
    );
  }
  return name;
}

function parseOrigin(entry: string, label: string): string {
  let url: URL | null = null;
  try {
    url = new URL(entry);
  } catch {
    // reported below
  }
  const bare =
    url !== null &&
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.pathname === '/' &&
    !url.search &&
    !url.hash &&
    !url.username &&
    !url.password;
  if (!url || !bare) {
    throw new BrowserSafetyConfigError(
      `${label} "${entry}" is not an origin: give scheme://host[:port] with no path, ` +
        'as a browser sends it (https://dash.example.com), one per entry, no wildcards',
    );
  }
  return url.origin;
}

/**
 * The allowed hosts and origins: ALMANAC_ALLOWED_HOSTS and ALMANAC_ALLOWED_ORIGINS (comma-separated)
 * plus the serve options (`--allowed-host`, `--allowed-origin`). Errors name the entry.
 */
export function resolveBrowserSafety(opts: {
  env: NodeJS.ProcessEnv;
  allowedHosts?: readonly string[];
  allowedOrigins?: readonly string[];
}): BrowserSafetySettings {
  const fromOption = (flag: string, values: readonly string[] = []) =>
    values.map((value) => ({ value: value.trim(), label: flag }));
  const hosts = [
    ...envEntries(opts.env, 'ALMANAC_ALLOWED_HOSTS'),
    ...fromOption('--allowed-host', opts.allowedHosts),
  ].map((h) => parseHost(h.value, h.label));
  const origins = [
    ...envEntries(opts.env, 'ALMANAC_ALLOWED_ORIGINS'),
    ...fromOption('--allowed-origin', opts.allowedOrigins),
  ].map((o) => parseOrigin(o.value, o.label));
  return { allowedHosts: [...new Set(hosts)], allowedOrigins: [...new Set(origins)] };
}

export interface BrowserSafetyPolicy {
  /**
   * the loopback names and the listen address, accepted in Host with the port the request
   * arrived on or none; null: Host is not checked
   */
  readonly localNames: ReadonlySet<string> | null;
  /** names accepted in Host on any port (and in Origin, for either scheme) */
  readonly allowedHosts: ReadonlySet<string>;
  readonly allowedOrigins: ReadonlySet<string>;
}

/**
 * On loopback, Host is always checked: a page whose name the attacker rebinds to 127.0.0.1 is
 * same-origin with the api in the victim's browser, and with auth off nothing else stops it. Off
 * loopback the api has tokens (assertSafeBind), which such a page does not hold, so Host is checked
 * only when the operator lists the names (ALMANAC_ALLOWED_HOSTS): a proxy in front may reach the
 * api under names it alone knows.
 */
export function browserSafetyPolicy(opts: {
  listenHost: string;
  authEnabled: boolean;
  settings: BrowserSafetySettings;
}): BrowserSafetyPolicy {
  const allowedHosts = new Set(opts.settings.allowedHosts);
  const own = canonicalHost(opts.listenHost.trim().replace(/^(?!\[)(.*:.*)$/, '[$1]'));
  const local = new Set(['localhost', '127.0.0.1', '[::1]', ...(own ? [own] : [])]);
  // auth off is refused off loopback (assertSafeBind); checked here too should that ever change
  const checked = isLoopback(opts.listenHost) || !opts.authEnabled || allowedHosts.size > 0;
  return {
    localNames: checked ? local : null,
    allowedHosts,
    allowedOrigins: new Set(opts.settings.allowedOrigins),
  };
}

/** The parts of a request the checks read (a node IncomingMessage has them). */
export interface SafetyRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** the port the connection arrived on */
  localPort: number;
}

export interface RefusalBody {
  statusCode: number;
  message: string;
  /** on 415: the media type received (null: none) and the one expected */
  received?: string | null;
  expected?: string;
}

/** What to do with a request, and the headers to add to whatever answers it. */
export type SafetyVerdict =
  | { action: 'pass'; headers: Record<string, string> }
  | { action: 'preflight'; headers: Record<string, string> }
  | {
      action: 'refuse';
      /**
       * 421 Misdirected Request for a Host the api does not answer to: RFC 9110 §15.5.20 defines it
       * for a request sent to a server not configured to answer for that target, which is what a
       * rebinding request is; 403 would say the caller lacks a permission it could be given.
       * 403 for a foreign Origin (the target is right, this caller is not allowed);
       * 415 for a body that is not JSON.
       */
      status: 403 | 415 | 421;
      body: RefusalBody;
      headers: Record<string, string>;
    };

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// application/json and structured-syntax suffix types (application/problem+json, RFC 6839)
const JSON_MEDIA = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/;
const EXPECTED = 'application/json';

const header = (req: SafetyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The media type of a Content-Type value, lowercase, without parameters. */
function mediaType(contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase();
}

/** Whether a Content-Type names JSON (also used to pick the body parser). */
export function isJsonContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && JSON_MEDIA.test(mediaType(contentType));
}

/** Content-Length above 0, or chunked. A bare `curl -X POST` has no body and needs no type. */
function hasBody(req: SafetyRequest): boolean {
  const length = header(req, 'content-length');
  return (length !== undefined && length.trim() !== '0') || !!header(req, 'transfer-encoding');
}

function hostRefusal(policy: BrowserSafetyPolicy, req: SafetyRequest): string | null {
  if (!policy.localNames) return null;
  const host = header(req, 'host');
  const names = [...policy.localNames].join(', ');
  const advice =
    `it answers to ${names} (port ${req.localPort} or none)` +
    (policy.allowedHosts.size ? ` and to ${[...policy.allowedHosts].join(', ')}` : '') +
    '; add the name to ALMANAC_ALLOWED_HOSTS (comma-separated) if the api is reached through it';
  if (host === undefined) return `the request has no Host header; ${advice}`;
  const m = HOST_HEADER.exec(host.trim());
  const name = m ? canonicalHost(m[1]) : null;
  if (name !== null) {
    if (policy.allowedHosts.has(name)) return null;
    const port = m?.[2];
    if (policy.localNames.has(name) && (port === undefined || Number(port) === req.localPort))
      return null;
  }
  return `host "${host}" is not a name this api answers to; ${advice}`;
}

/** http(s)://Host, the origin of a page served by this api (or by a proxy passing Host). */
function isOwnOrigin(policy: BrowserSafetyPolicy, origin: URL, req: SafetyRequest): boolean {
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:') return false;
  const host = header(req, 'host')?.trim().toLowerCase();
  return origin.host === host || policy.allowedHosts.has(origin.hostname);
}

function parseOriginHeader(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null; // "null" (sandboxed frames, file:), or garbage
  }
}

/**
 * Host first (a rebinding page must get nothing, not even /health), then CORS preflights, then
 * for mutating methods the Origin and the body's content type. Reads from a foreign origin pass
 * without CORS headers: the browser sends them but does not let the page read the answer.
 */
export function judgeRequest(policy: BrowserSafetyPolicy, req: SafetyRequest): SafetyVerdict {
  const method = req.method.toUpperCase();
  const cors = policy.allowedOrigins.size > 0;
  const vary: Record<string, string> = cors ? { Vary: 'Origin' } : {};
  const refuse = (
    status: 403 | 415 | 421,
    message: string,
    extra: Partial<RefusalBody> = {},
    headers = vary,
  ): SafetyVerdict => ({
    action: 'refuse',
    status,
    body: { statusCode: status, message, ...extra },
    headers,
  });

  const wrongHost = hostRefusal(policy, req);
  if (wrongHost) return refuse(421, wrongHost);

  const originHeader = header(req, 'origin');
  const origin = originHeader === undefined ? null : parseOriginHeader(originHeader);
  const allowed = origin !== null && policy.allowedOrigins.has(origin.origin);
  const corsHeaders = allowed ? { 'Access-Control-Allow-Origin': origin.origin, ...vary } : vary;

  if (
    method === 'OPTIONS' &&
    originHeader !== undefined &&
    header(req, 'access-control-request-method')
  ) {
    if (allowed) {
      return {
        action: 'preflight',
        headers: {
          ...corsHeaders,
          'Access-Control-Allow-Methods': 'GET, POST',
          'Access-Control-Allow-Headers': 'authorization, content-type',
          'Access-Control-Max-Age': '600',
        },
      };
    }
    return refuse(
      403,
      `CORS preflight from origin "${originHeader}" is refused: ` +
        (cors
          ? `the allowed origins are ${[...policy.allowedOrigins].join(', ')} (ALMANAC_ALLOWED_ORIGINS)`
          : 'cross-origin calls are off; allow origins with ALMANAC_ALLOWED_ORIGINS (comma-separated)'),
    );
  }

  if (!MUTATING.has(method)) return { action: 'pass', headers: corsHeaders };

  if (originHeader !== undefined && !allowed && !(origin && isOwnOrigin(policy, origin, req))) {
    const own = `http://${header(req, 'host')?.trim().toLowerCase() ?? 'localhost'}`;
    return refuse(
      403,
      `origin "${originHeader}" may not call this api: only pages of its own ` +
        `origin (${own}) may call it from a browser; allow other origins with ` +
        'ALMANAC_ALLOWED_ORIGINS (comma-separated)',
    );
  }

  const contentType = header(req, 'content-type');
  if ((contentType !== undefined || hasBody(req)) && !isJsonContentType(contentType)) {
    const received = contentType === undefined ? null : mediaType(contentType);
    return refuse(
      415,
      'the body must be JSON: ' +
        (received === null
          ? 'the request has a body but no content-type'
          : `content-type "${received}" is not accepted`) +
        `; send content-type: ${EXPECTED}`,
      { received, expected: EXPECTED },
      corsHeaders,
    );
  }
  return { action: 'pass', headers: corsHeaders };
}
