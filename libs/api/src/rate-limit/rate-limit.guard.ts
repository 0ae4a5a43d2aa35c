import {
  HttpException,
  HttpStatus,
  type CanActivate,
  type ExecutionContext,
  type Provider,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Principal } from '../auth/authenticator';
import type { RateLimit } from './rate-limit.policy';
import { TokenBuckets } from './token-bucket';

/** The parts of the request and response the guard reads and writes. */
interface LimitedRequest {
  /** set by the auth guard, which runs first; absent on @Public() routes */
  principal?: Principal;
  socket?: { remoteAddress?: string };
}
interface HeaderSink {
  setHeader(name: string, value: string): unknown;
}

/**
 * One bucket per authenticated caller (its token's name or its email); per remote address when
 * nobody is authenticated (auth off on loopback, or a @Public() route). Over the limit: 429 with
 * Retry-After (whole seconds) and a JSON body saying who, which limit and when to come back.
 */
class RateLimitGuard implements CanActivate {
  constructor(
    private readonly limit: RateLimit,
    private readonly buckets: TokenBuckets,
    private readonly clock: () => number,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const request = http.getRequest<LimitedRequest>();
    const principal = request.principal;
    const caller =
      principal && principal.via !== 'none'
        ? { key: `${principal.via}:${principal.name}`, name: principal.name }
        : {
            key: `address:${request.socket?.remoteAddress}`,
            name: `${request.socket?.remoteAddress}`,
          };
    const taken = this.buckets.take(caller.key, this.clock());
    if (taken.allowed) return true;
    const seconds = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
    http.getResponse<HeaderSink>().setHeader('Retry-After', String(seconds));
    throw new HttpException(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        message: `rate limit of ${this.limit.text} exceeded for ${caller.name}: retry in ${seconds} s`,
        limit: this.limit.text,
        retryAfterSeconds: seconds,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/**
 * The rate-limit guard, for a Nest module's providers after authProviders (global guards run in
 * the order they are provided, and this one reads the principal the auth guard sets). None when
 * `limit` is null.
 */
export function rateLimitProviders(
  limit: RateLimit | null,
  clock: () => number = Date.now,
): Provider[] {
  if (!limit) return [];
  return [
    { provide: APP_GUARD, useValue: new RateLimitGuard(limit, new TokenBuckets(limit), clock) },
  ];
}
