import CircuitBreaker from 'opossum';
import { breakerStateValue } from '@almanac/platform';

// almanac_breaker_state reads opossum's own flags: this pins the mapping to what opossum reports
describe('breakerStateValue over an opossum breaker', () => {
  it('closed 0, open 2 after failures, half-open 1 after the reset timeout, closed again on success', async () => {
    let fail = true;
    const breaker = new CircuitBreaker(
      async () => {
        if (fail) throw new Error('batch failed');
      },
      { errorThresholdPercentage: 50, volumeThreshold: 1, resetTimeout: 100, timeout: false },
    );
    try {
      expect(breakerStateValue(breaker)).toBe(0);
      await breaker.fire().catch(() => undefined);
      expect(breakerStateValue(breaker)).toBe(2);
      await new Promise((r) => setTimeout(r, 300));
      expect(breakerStateValue(breaker)).toBe(1);
      fail = false;
      await breaker.fire();
      expect(breakerStateValue(breaker)).toBe(0);
    } finally {
      breaker.shutdown();
    }
  });
});
