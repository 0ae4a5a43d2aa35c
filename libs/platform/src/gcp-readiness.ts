import type { Database } from '@google-cloud/spanner';
import type { PubSubBus } from '@almanac/messaging';
import type { Warehouse } from '@almanac/warehouse';
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
 * `SELECT 1` as a stream that is destroyed at the deadline: destroying it cancels the gRPC call,
 * so no call of a check outlives it (a stopped Spanner otherwise holds it for minutes).
 */
function selectOne(database: Database, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stream = database.runStream({ sql: 'SELECT 1' });
    const timer = setTimeout(() => stream.destroy(), timeoutMs);
    stream
      .on('data', () => undefined)
      .on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      })
      .on('end', () => {
        clearTimeout(timer);
        resolve();
      })
      .on('close', () => clearTimeout(timer));
  });
}

/**
 * The readiness checks of a gcp service: a `SELECT 1` on its Spanner database (the log, the
 * outbox and the result store live there), its bus's subscriptions (they exist, their stream
 * is open) and a ping of its warehouse. Each check fails after `timeoutMs` without an answer.
 */
export function gcpReadiness(deps: {
  database: Database;
  bus: PubSubBus;
  warehouse: Pick<Warehouse, 'ping'>;
  timeoutMs?: number;
}): Record<string, ReadinessCheck> {
  const timeoutMs = deps.timeoutMs ?? 2_000;
  return {
    spanner: withDeadline('SELECT 1 on Spanner', timeoutMs, () =>
      selectOne(deps.database, timeoutMs),
    ),
    pubsub: withDeadline('the Pub/Sub subscriptions', timeoutMs, () =>
      deps.bus.checkSubscriptions(),
    ),
    warehouse: withDeadline('a ping of the warehouse', timeoutMs, () => deps.warehouse.ping()),
  };
}
