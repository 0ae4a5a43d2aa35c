import type { RateLimit } from './rate-limit.policy';

type Take = { allowed: true; remaining: number } | { allowed: false; retryAfterMs: number };

interface Bucket {
  /** in units of 1/perMs of a request, so that refills are exact integers (no float drift) */
  units: number;
  at: number;
}

/**
 * One token bucket per caller: `requests` tokens, refilled at `requests` per `perMs`, one per
 * request. Pure: the caller passes the time (ms), so tests drive it with a clock of their own.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;
  private readonly maxKeys: number;

  constructor(
    private readonly limit: RateLimit,
    opts: { maxKeys?: number } = {},
  ) {
    // a request costs perMs units; a millisecond refills `requests` units
    this.capacity = limit.requests * limit.perMs;
    this.maxKeys = opts.maxKeys ?? 10_000;
  }

  /** callers currently remembered */
  get size(): number {
    return this.buckets.size;
  }

  take(key: string, now: number): Take {
    const bucket = this.buckets.get(key) ?? { units: this.capacity, at: now };
    const units = this.refilled(bucket, now);
    if (units < this.limit.perMs) {
      this.buckets.set(key, { units, at: Math.max(now, bucket.at) });
      return {
        allowed: false,
        retryAfterMs: Math.ceil((this.limit.perMs - units) / this.limit.requests),
      };
    }
    this.buckets.set(key, { units: units - this.limit.perMs, at: Math.max(now, bucket.at) });
    if (this.buckets.size > this.maxKeys) this.forgetFull(now);
    return { allowed: true, remaining: Math.floor((units - this.limit.perMs) / this.limit.perMs) };
  }

  private refilled(bucket: Bucket, now: number): number {
    // a clock that steps back refills nothing
    const elapsed = Math.max(0, now - bucket.at);
    return Math.min(this.capacity, bucket.units + elapsed * this.limit.requests);
  }

  /** a full bucket is what a caller never seen gets: forgetting it changes nothing */
  private forgetFull(now: number): void {
    for (const [key, bucket] of this.buckets)
      if (this.refilled(bucket, now) >= this.capacity) this.buckets.delete(key);
  }
}
