import {
  DEFAULT_BREAKER_SETTINGS,
  PermanentBatchError,
  dispatchBatches,
  type BatchResult,
  type BreakerSettings,
  type PendingBatch,
} from './batch-dispatcher';

const settings: BreakerSettings = { ...DEFAULT_BREAKER_SETTINGS, timeoutMs: 2_000 };

const batchesOf = (n: number, size = 2): PendingBatch[] =>
  Array.from({ length: n }, (_, batch) => ({
    batch,
    entityIds: Array.from({ length: size }, (_, i) => `u${batch * size + i}`),
  }));

const ok = (b: PendingBatch): BatchResult => ({
  processed: b.entityIds.length,
  saved: b.entityIds.length,
  failures: [],
});
const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('dispatchBatches', () => {
  it('returns the result of every batch when all succeed', async () => {
    const progress: number[] = [];
    const outcome = await dispatchBatches({
      batches: batchesOf(10),
      maxInFlight: 3,
      settings,
      send: async (b) => {
        await tick();
        return ok(b);
      },
      onProgress: (batch) => progress.push(batch),
    });
    expect([...outcome.results.keys()].sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(outcome.results.get(7)).toEqual({ processed: 2, saved: 2, failures: [] });
    expect(outcome.batchErrors).toEqual([]);
    expect(outcome.circuitOpen).toBeNull();
    expect(progress.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('never has more than maxInFlight sends outstanding (and does use the window)', async () => {
    let inFlight = 0;
    let maxSeen = 0;
    const outcome = await dispatchBatches({
      batches: batchesOf(30),
      maxInFlight: 4,
      settings,
      send: async (b) => {
        inFlight++;
        maxSeen = Math.max(maxSeen, inFlight);
        await tick(2);
        inFlight--;
        return ok(b);
      },
    });
    expect(outcome.results.size).toBe(30);
    expect(maxSeen).toBe(4);
  });

  it('retries a batch that failed twice (retry 0, 1, 2) and counts it as a success', async () => {
    const sends: Array<[number, number]> = [];
    const outcome = await dispatchBatches({
      batches: batchesOf(3),
      maxInFlight: 1,
      settings,
      send: async (b, retry) => {
        sends.push([b.batch, retry]);
        if (b.batch === 1 && retry < 2) throw new Error(`worker unavailable (retry ${retry})`);
        return ok(b);
      },
    });
    expect(sends).toEqual([
      [0, 0],
      [1, 0],
      [1, 1],
      [1, 2],
      [2, 0],
    ]);
    expect(outcome.results.get(1)).toEqual({ processed: 2, saved: 2, failures: [] });
    expect(outcome.batchErrors).toEqual([]);
    expect(outcome.circuitOpen).toBeNull();
  });

  it('reports a batch that failed 3 times in batchErrors with the last message', async () => {
    const sends: Array<[number, number]> = [];
    const outcome = await dispatchBatches({
      batches: batchesOf(4),
      maxInFlight: 1,
      settings,
      send: async (b, retry) => {
        sends.push([b.batch, retry]);
        if (b.batch === 2) throw new Error(`worker crashed (retry ${retry})`);
        return ok(b);
      },
    });
    expect(sends.filter(([batch]) => batch === 2)).toEqual([
      [2, 0],
      [2, 1],
      [2, 2],
    ]);
    expect(outcome.batchErrors).toEqual([{ batch: 2, message: 'worker crashed (retry 2)' }]);
    expect([...outcome.results.keys()]).toEqual([0, 1, 3]);
    expect(outcome.circuitOpen).toBeNull();
  });

  it('reports a batch whose error has an empty message instead of losing it', async () => {
    const outcome = await dispatchBatches({
      batches: batchesOf(2),
      maxInFlight: 1,
      settings,
      send: async (b) => {
        if (b.batch === 1) throw new Error('');
        return ok(b);
      },
    });
    expect(outcome.results.has(1)).toBe(false);
    expect(outcome.batchErrors).toEqual([{ batch: 1, message: 'Error' }]);
  });

  it('opens the breaker at > 30 % failures after 20 calls and stops dispatching', async () => {
    let sends = 0;
    // 2 batches in 5 fail (40 %); no retries, so one call per batch
    const outcome = await dispatchBatches({
      batches: batchesOf(50),
      maxInFlight: 1,
      settings: { ...settings, retries: 0 },
      send: async (b) => {
        sends++;
        if (b.batch % 5 < 2) throw new Error(`worker error on batch ${b.batch}`);
        return ok(b);
      },
    });
    // below 20 calls nothing opens; call 21 (batch 20) is the first failure at or past the volume
    expect(sends).toBe(21);
    expect(outcome.circuitOpen).toEqual({
      calls: 21,
      failures: 9,
      message: 'circuit opened after 9 failed of 21 batch calls (threshold 30 % after 20 calls)',
    });
    expect(outcome.results.size).toBe(12);
    expect(outcome.batchErrors.map((e) => e.batch)).toEqual([0, 1, 5, 6, 10, 11, 15, 16]);
  });

  it('opens at exactly 30 % (6 failed of 20 calls), not only above it', async () => {
    const failing = new Set([0, 1, 2, 3, 4, 19]);
    let sends = 0;
    const outcome = await dispatchBatches({
      batches: batchesOf(40),
      maxInFlight: 1,
      settings: { ...settings, retries: 0 },
      send: async (b) => {
        sends++;
        if (failing.has(b.batch)) throw new Error(`worker error on batch ${b.batch}`);
        return ok(b);
      },
    });
    expect(sends).toBe(20);
    expect(outcome.circuitOpen).toMatchObject({ calls: 20, failures: 6 });
  });

  it('does not open the breaker for PermanentBatchError, and does not retry it', async () => {
    const sends: Array<[number, number]> = [];
    const outcome = await dispatchBatches({
      batches: batchesOf(40),
      maxInFlight: 2,
      settings,
      send: async (b, retry) => {
        sends.push([b.batch, retry]);
        throw new PermanentBatchError(`batch ${b.batch}: entity ids must not be empty`);
      },
    });
    expect(outcome.circuitOpen).toBeNull();
    expect(sends).toHaveLength(40);
    expect(sends.every(([, retry]) => retry === 0)).toBe(true);
    expect(outcome.batchErrors).toHaveLength(40);
    expect(outcome.batchErrors.find((e) => e.batch === 17)).toEqual({
      batch: 17,
      message: 'batch 17: entity ids must not be empty',
    });
  });

  it('times out a send that never resolves and retries it', async () => {
    const sends: Array<[number, number]> = [];
    const outcome = await dispatchBatches({
      batches: batchesOf(2),
      maxInFlight: 2,
      settings: { ...settings, timeoutMs: 50 },
      send: (b, retry) => {
        sends.push([b.batch, retry]);
        if (b.batch === 0 && retry === 0) return new Promise<BatchResult>(() => undefined);
        return Promise.resolve(ok(b));
      },
    });
    expect(sends.filter(([batch]) => batch === 0)).toEqual([
      [0, 0],
      [0, 1],
    ]);
    expect(outcome.results.get(0)).toEqual({ processed: 2, saved: 2, failures: [] });
    expect(outcome.batchErrors).toEqual([]);
  });

  it('reports a batch that times out on every try with the timeout message', async () => {
    const outcome = await dispatchBatches({
      batches: batchesOf(1),
      maxInFlight: 1,
      settings: { ...settings, timeoutMs: 30 },
      send: () => new Promise<BatchResult>(() => undefined),
    });
    expect(outcome.results.size).toBe(0);
    expect(outcome.batchErrors).toEqual([{ batch: 0, message: 'Timed out after 30ms' }]);
  });

  it('returns an empty outcome for no batches', async () => {
    const outcome = await dispatchBatches({
      batches: [],
      maxInFlight: 100,
      settings,
      send: async (b) => ok(b),
    });
    expect(outcome).toEqual({ results: new Map(), batchErrors: [], circuitOpen: null });
  });
});
