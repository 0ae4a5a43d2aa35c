import type { Database } from '@google-cloud/spanner';
import type { PubSubBus } from '@almanac/messaging';
import type { ReadinessCheck } from './service-host';

/** A check that got no answer within its deadline (a stopped emulator: the client retries on). */
class ReadinessTimeoutError extends Error {
  readonly code = 'readiness-timeout';
  constructor(
    readonly check: string,
    readonly timeoutMs: number,
  ) {
    super(`${check}: no answer within ${timeoutMs} ms`);
    this.name = 'ReadinessTimeoutError';
  }
}

function withDeadline(what: string, timeoutMs: number, work: () => Promise<unknown>) {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ReadinessTimeoutError(what, timeoutMs)), timeoutMs);
    });
    const running = work();
    running.catch(() => undefined); // settles after the deadline: nobody awaits it then
    try {
      await Promise.race([running, deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * The readiness checks of a gcp service: a `SELECT 1` on its Spanner database (the log, the
 * outbox and the result store live there) and its bus's subscriptions (they exist, their stream
 * is open). Each check fails after `timeoutMs` without an answer.
 */
export function gcpReadiness(deps: {
  database: Database;
  bus: PubSubBus;
  timeoutMs?: number;
}): Record<string, ReadinessCheck> {
  const timeoutMs = deps.timeoutMs ?? 2_000;
  return {
    spanner: withDeadline('SELECT 1 on Spanner', timeoutMs, () =>
      // the call's own deadline too: a stopped emulator is otherwise retried for minutes
      deps.database.run({ sql: 'SELECT 1', gaxOptions: { timeout: timeoutMs } }),
    ),
    pubsub: withDeadline('the Pub/Sub subscriptions', timeoutMs, () =>
      deps.bus.checkSubscriptions(),
    ),
  };
}
