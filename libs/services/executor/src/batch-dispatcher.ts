import CircuitBreaker from 'opossum';
import type { EntityFailure } from '@almanac/contracts';

/** The seed's defaults (DESIGN appendix). */
export interface BreakerSettings {
  /** worker call timeout */
  timeoutMs: number;
  /** retries of a failed batch */
  retries: number;
  /** opens at this failure percentage ... */
  errorThresholdPercentage: number;
  /** ... after at least this many calls */
  volumeThreshold: number;
  /** statistical window of the breaker */
  rollingCountTimeoutMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  timeoutMs: 60_000,
  retries: 2,
  errorThresholdPercentage: 30,
  volumeThreshold: 20,
  rollingCountTimeoutMs: 10 * 60_000,
};

export interface BatchResult {
  processed: number;
  saved: number;
  failures: EntityFailure[];
}

export interface PendingBatch {
  batch: number;
  entityIds: string[];
}

/** A whole-batch error that retrying cannot fix (bad input); it never trips the breaker. */
export class PermanentBatchError extends Error {
  readonly permanent = true;
}

export interface DispatchOutcome {
  results: Map<number, BatchResult>;
  batchErrors: Array<{ batch: number; message: string }>;
  circuitOpen: { message: string; calls: number; failures: number } | null;
}

/**
 * Sends batches to workers with at most `maxInFlight` outstanding, each call guarded by an opossum
 * breaker: a failed call is retried up to `retries` times; when the breaker opens, nothing more is
 * dispatched, in-flight calls are awaited, and the outcome says so.
 */
export async function dispatchBatches(opts: {
  batches: PendingBatch[];
  maxInFlight: number;
  settings: BreakerSettings;
  send: (batch: PendingBatch, retry: number) => Promise<BatchResult>;
  onProgress?: (batch: number, result: BatchResult) => void;
}): Promise<DispatchOutcome> {
  const { settings } = opts;
  const breaker = new CircuitBreaker((b: PendingBatch, retry: number) => opts.send(b, retry), {
    timeout: settings.timeoutMs,
    // opossum opens only above the threshold; Almanac opens *at* it (30 % means 6 of 20 calls)
    errorThresholdPercentage: settings.errorThresholdPercentage - 1e-9,
    volumeThreshold: settings.volumeThreshold,
    rollingCountTimeout: settings.rollingCountTimeoutMs,
    // once open it stays open for this computation: the executor fails it rather than probing
    resetTimeout: 2 ** 31 - 1,
    errorFilter: (err: unknown) => (err as { permanent?: boolean })?.permanent === true,
  });
  const outcome: DispatchOutcome = { results: new Map(), batchErrors: [], circuitOpen: null };
  let calls = 0;
  let failures = 0;
  breaker.on('success', () => calls++);
  breaker.on('failure', () => {
    calls++;
    failures++;
  });
  breaker.on('timeout', () => undefined);
  breaker.on('open', () => {
    outcome.circuitOpen ??= {
      message: `circuit opened after ${failures} failed of ${calls} batch calls (threshold ${settings.errorThresholdPercentage} % after ${settings.volumeThreshold} calls)`,
      calls,
      failures,
    };
  });

  let next = 0;
  const worker = async () => {
    while (next < opts.batches.length && !outcome.circuitOpen) {
      const b = opts.batches[next++];
      // null = no failure; a failure with an empty message must still be reported, not lost
      let lastError: string | null = null;
      for (let retry = 0; retry <= settings.retries && !outcome.circuitOpen; retry++) {
        try {
          const result = await breaker.fire(b, retry);
          outcome.results.set(b.batch, result);
          opts.onProgress?.(b.batch, result);
          lastError = null;
          break;
        } catch (err) {
          lastError = err instanceof Error ? err.message || err.name : String(err);
          if ((err as { permanent?: boolean })?.permanent) break;
        }
      }
      if (lastError !== null && !outcome.circuitOpen)
        outcome.batchErrors.push({ batch: b.batch, message: lastError });
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(opts.maxInFlight, opts.batches.length)) }, worker),
    );
  } finally {
    breaker.shutdown();
  }
  return outcome;
}
