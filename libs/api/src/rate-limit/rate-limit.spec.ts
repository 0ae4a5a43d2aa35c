import { parseRateLimit, RateLimitConfigError, resolveRateLimit } from './rate-limit.policy';
import { TokenBuckets } from './token-bucket';

const perMinute = (requests: number) => ({ requests, perMs: 60_000, text: `${requests}/min` });

describe('TokenBuckets: a token bucket per caller, on an injected clock', () => {
  it('given 3/min, the 4th request within the minute is refused until one token is back', () => {
    const buckets = new TokenBuckets(perMinute(3));
    const at0 = [1, 2, 3, 4].map(() => buckets.take('ops', 0));
    expect(at0.slice(0, 3)).toEqual([
      { allowed: true, remaining: 2 },
      { allowed: true, remaining: 1 },
      { allowed: true, remaining: 0 },
    ]);
    // one token comes back every 20 s
    expect(at0[3]).toEqual({ allowed: false, retryAfterMs: 20_000 });
    expect(buckets.take('ops', 19_999)).toEqual({ allowed: false, retryAfterMs: 1 });
    expect(buckets.take('ops', 20_000)).toEqual({ allowed: true, remaining: 0 });
  });

  it('another caller has its own bucket', () => {
    const buckets = new TokenBuckets(perMinute(1));
    expect(buckets.take('ops', 0).allowed).toBe(true);
    expect(buckets.take('ops', 0).allowed).toBe(false);
    expect(buckets.take('grafana', 0)).toEqual({ allowed: true, remaining: 0 });
  });

  it('after a whole window the bucket is full again, and never fuller', () => {
    const buckets = new TokenBuckets(perMinute(3));
    for (let i = 0; i < 3; i++) buckets.take('ops', 0);
    expect(buckets.take('ops', 0).allowed).toBe(false);
    const later = [1, 2, 3, 4].map(() => buckets.take('ops', 10 * 60_000));
    expect(later.map((t) => t.allowed)).toEqual([true, true, true, false]);
  });

  it('a clock that steps back refills nothing', () => {
    const buckets = new TokenBuckets(perMinute(1));
    expect(buckets.take('ops', 50_000).allowed).toBe(true);
    expect(buckets.take('ops', 10_000)).toEqual({ allowed: false, retryAfterMs: 60_000 });
  });

  it('forgets the callers whose bucket is full again once it holds more than maxKeys', () => {
    const buckets = new TokenBuckets(perMinute(2), { maxKeys: 2 });
    buckets.take('a', 0);
    buckets.take('b', 0);
    buckets.take('c', 30_000);
    buckets.take('c', 30_000);
    // a and b are full again at 60 s; c has one of its two tokens back
    buckets.take('d', 60_000);
    expect(buckets.size).toBe(2);
    expect(buckets.take('c', 60_000)).toEqual({ allowed: true, remaining: 0 });
  });
});

describe('the rate limit setting', () => {
  it('reads N/unit and N/<k><unit>, and off', () => {
    expect(parseRateLimit('120/min', 'ALMANAC_RATE_LIMIT')).toEqual({
      requests: 120,
      perMs: 60_000,
      text: '120/min',
    });
    expect(parseRateLimit('5/10s', 'x')).toMatchObject({ requests: 5, perMs: 10_000 });
    expect(parseRateLimit(' 1000 / hour ', 'x')).toMatchObject({
      requests: 1000,
      perMs: 3_600_000,
    });
    expect(parseRateLimit('off', 'x')).toBeNull();
  });

  it('refuses anything else, naming where it came from and the expected form', () => {
    expect(() => parseRateLimit('lots', 'ALMANAC_RATE_LIMIT')).toThrow(RateLimitConfigError);
    expect(() => parseRateLimit('0/min', 'api.rateLimit')).toThrow(
      'api.rateLimit: invalid rate limit "0/min": expected "off" or REQUESTS/PERIOD with REQUESTS ≥ 1 and PERIOD s, min or hour, optionally with a count (120/min, 5/10s)',
    );
  });

  it('the environment wins over the config; by default off without auth and 600/min with it', () => {
    expect(resolveRateLimit({ env: {}, authEnabled: false })).toBeNull();
    expect(resolveRateLimit({ env: {}, authEnabled: true })).toMatchObject({
      requests: 600,
      perMs: 60_000,
    });
    expect(
      resolveRateLimit({ setting: '10/s', env: { ALMANAC_RATE_LIMIT: 'off' }, authEnabled: true }),
    ).toBeNull();
    expect(resolveRateLimit({ setting: '10/s', env: {}, authEnabled: false })).toMatchObject({
      requests: 10,
      perMs: 1000,
    });
  });
});
