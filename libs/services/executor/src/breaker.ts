import CircuitBreaker from 'opossum';
import type { ComputationRunView } from '@almanac/domain/projections';

/** The seed's defaults (DESIGN appendix). */
export interface BreakerSettings {
  /** a worker's limit on one batch's work (it reports a timeout as a failed try) */
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

/**
 * Whether the breaker guarding a computation's fan-out opens on its latest failed answer.
 *
 * The answers come back through the bus to whichever executor replica takes them, so no replica
 * holds the breaker across answers: an opossum breaker is rehydrated from the attempt's counts in
 * the log (every answer but the latest, `status` stats) and the latest failure is fired through it.
 * opossum then applies its rule (open at the error percentage once the volume is reached) exactly
 * as if one process had seen every answer.
 */
export async function breakerOpensOn(
  c: Pick<ComputationRunView, 'calls' | 'callFailures'>,
  settings: BreakerSettings,
): Promise<boolean> {
  const fires = Math.max(0, c.calls - 1);
  const failures = Math.max(0, c.callFailures - 1);
  const breaker = new CircuitBreaker(
    async () => {
      throw new Error('batch failed');
    },
    {
      // the work's time is measured by the worker (settings.timeoutMs), not here
      timeout: false,
      // opossum opens only above the threshold; Almanac opens *at* it (30 % means 6 of 20 calls)
      errorThresholdPercentage: settings.errorThresholdPercentage - 1e-9,
      volumeThreshold: settings.volumeThreshold,
      rollingCountTimeout: settings.rollingCountTimeoutMs,
      resetTimeout: 2 ** 31 - 1,
      status: { fires, failures, successes: fires - failures } as never,
    },
  );
  try {
    await breaker.fire().catch(() => undefined);
    return breaker.opened;
  } finally {
    breaker.shutdown();
  }
}
