/** At most `requests` per `perMs` for each caller, as a token bucket (bursts up to `requests`). */
export interface RateLimit {
  requests: number;
  perMs: number;
  /** as configured, for messages */
  text: string;
}

/** With auth on and nothing configured: generous for a status page and scripts, fair among them. */
const DEFAULT_RATE_LIMIT = '600/min';

/** ALMANAC_RATE_LIMIT or `api.rateLimit` is not "off" nor REQUESTS/PERIOD. */
export class RateLimitConfigError extends Error {
  readonly code = 'invalid-rate-limit';
  constructor(
    readonly source: string,
    readonly value: string,
  ) {
    super(
      `${source}: invalid rate limit "${value}": expected "off" or REQUESTS/PERIOD with ` +
        `REQUESTS ≥ 1 and PERIOD s, min or hour, optionally with a count (120/min, 5/10s)`,
    );
    this.name = 'RateLimitConfigError';
  }
}

const UNIT_MS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
};

/** "120/min", "5/10s", "1000/hour" or "off" (null: no limit). */
export function parseRateLimit(value: string, source: string): RateLimit | null {
  const text = value.trim();
  if (text === 'off') return null;
  const m = /^(\d+)\s*\/\s*(\d*)\s*([a-z]+)$/.exec(text);
  const requests = m ? Number(m[1]) : 0;
  const count = m && m[2] ? Number(m[2]) : 1;
  const unit = m ? UNIT_MS[m[3]] : undefined;
  if (!m || unit === undefined || !Number.isSafeInteger(requests) || requests < 1 || count < 1)
    throw new RateLimitConfigError(source, value);
  return { requests, perMs: count * unit, text };
}

/**
 * The api's rate limit per caller: ALMANAC_RATE_LIMIT, else `api.rateLimit` of almanac.config.ts,
 * else DEFAULT_RATE_LIMIT when auth is on and none when it is off (loopback: one user, whose status
 * page and scripts should not be throttled by default).
 */
export function resolveRateLimit(opts: {
  setting?: string;
  env?: NodeJS.ProcessEnv;
  authEnabled: boolean;
}): RateLimit | null {
  const fromEnv = opts.env?.ALMANAC_RATE_LIMIT;
  if (fromEnv !== undefined && fromEnv.trim() !== '')
    return parseRateLimit(fromEnv, 'ALMANAC_RATE_LIMIT');
  if (opts.setting !== undefined) return parseRateLimit(opts.setting, 'api.rateLimit');
  return opts.authEnabled ? parseRateLimit(DEFAULT_RATE_LIMIT, 'default') : null;
}
