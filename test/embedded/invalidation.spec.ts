import { readViews, requestInvalidation, type ApiRequestError } from '@almanac/api';
import { hashKey } from '@almanac/domain/projections';
import { embeddedQueries, type EmbeddedEngine } from '@almanac/embedded';
import type { InvalidationRequest } from '@almanac/platform';
import { ALL_SKIPPED, D, D_1, Fixture, statuses } from './fixture';

// Given the standard computations (OrderTotals -> UserBand, DailyVolume, SignupInfo) run for D,
// an operator's invalidation makes the next run re-run the tainted cells even though nothing
// their hashes cover changed; their dependants follow by result hash (ADR 0018).
describe('embedded engine: invalidation (taints)', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create();
  });
  afterEach(async () => {
    delete process.env.ALMANAC_TAINT_FACTOR;
    await f.cleanup();
  });

  /** opens the engine, invalidates through the api's code path, closes */
  async function invalidate(request: Omit<InvalidationRequest, 'requestedBy'>) {
    const engine = await f.open();
    const q = embeddedQueries(engine);
    try {
      return await requestInvalidation(q.queries.backend, { ...request, requestedBy: 'ops' });
    } finally {
      await q.close();
      await f.close();
    }
  }

  async function withEngine<T>(fn: (e: EmbeddedEngine) => Promise<T>): Promise<T> {
    const engine = await f.open();
    try {
      return await fn(engine);
    } finally {
      await f.close();
    }
  }

  const invalidations = (e: EmbeddedEngine) =>
    e.store.readAll().then((all) => all.filter((x) => x.type === 'ComputationsInvalidated').length);

  it('re-runs a tainted computation despite equal hashes; its dependant skips when the result hash is the same', async () => {
    const first = await f.run({ date: D });
    const answer = await invalidate({
      computations: ['OrderTotals'],
      from: D,
      to: D,
      reason: 'orders of D were reloaded',
    });
    expect(answer).toMatchObject({ replayed: false, tainted: 1 });

    const second = await f.run({ date: D });
    expect(statuses(second)).toEqual({ ...ALL_SKIPPED, OrderTotals: 'completed' });
    expect(second.computations.OrderTotals.reason).toEqual({
      code: 'changed',
      changed: ['tainted'],
    });
    expect(second.computations.OrderTotals.processed).toBe(5);
    expect(second.computations.OrderTotals.resultHash).toBe(
      first.computations.OrderTotals.resultHash,
    );
    // early cutoff: the same result hash, so UserBand's composite hash is unchanged
    expect(second.computations.UserBand.reason?.code).toBe('unchanged');

    // the re-run cleared the taint
    const third = await f.run({ date: D });
    expect(statuses(third)).toEqual(ALL_SKIPPED);
  });

  it('re-runs the dependant when the tainted computation now gives another result', async () => {
    // a factor the hashes do not cover (as reference data fixed outside the warehouse would be)
    f.edit(
      'order-totals.ts',
      'total: round2(total)',
      'total: round2(total * Number(process.env.ALMANAC_TAINT_FACTOR ?? 1))',
    );
    const first = await f.run({ date: D });
    process.env.ALMANAC_TAINT_FACTOR = '2';
    // nothing the hashes cover changed: everything skips, the stale results stay
    expect(statuses(await f.run({ date: D }))).toEqual(ALL_SKIPPED);
    expect(await f.results('OrderTotals', D, ['u2'])).toEqual({ u2: { count: 1, total: 5 } });

    await invalidate({ computations: ['OrderTotals'], from: D_1, to: D, reason: 'factor fixed' });
    const third = await f.run({ date: D });
    expect(statuses(third)).toEqual({
      ...ALL_SKIPPED,
      OrderTotals: 'completed',
      UserBand: 'completed',
    });
    expect(third.computations.OrderTotals.resultHash).not.toBe(
      first.computations.OrderTotals.resultHash,
    );
    expect(third.computations.UserBand.reason).toEqual({
      code: 'changed',
      changed: ['dependencies.OrderTotals'],
    });
    expect(await f.results('OrderTotals', D, ['u2'])).toEqual({ u2: { count: 1, total: 10 } });
    expect(await f.results('UserBand', D, ['u2'])).toEqual({ u2: { band: 'high' } });
  });

  it('appends a retried invalidation once, and a redelivered one changes nothing', async () => {
    await f.run({ date: D });
    const request = { computations: ['UserBand', 'OrderTotals'], from: D, to: D, reason: 'bad' };
    const a = await invalidate(request);
    // the same request again, names in another order: the same invalidation
    const b = await invalidate({ ...request, computations: ['OrderTotals', 'UserBand'] });
    expect(b).toEqual({ ...a, replayed: true });
    await withEngine(async (engine) => {
      expect(await invalidations(engine)).toBe(1);
      // the stored event published again (a second delivery): the log rejects the copy
      const [event] = (await engine.store.readAll()).filter(
        (x) => x.type === 'ComputationsInvalidated',
      );
      expect(await engine.publisher.publish([event])).toEqual([]);
      expect(await invalidations(engine)).toBe(1);
    });
    const second = await f.run({ date: D });
    expect(statuses(second)).toEqual({
      ...ALL_SKIPPED,
      OrderTotals: 'completed',
      UserBand: 'completed',
    });
    expect(second.computations.UserBand.reason).toEqual({ code: 'changed', changed: ['tainted'] });
    // the same request after the re-run taints the new results: a new invalidation
    const c = await invalidate(request);
    expect(c.replayed).toBe(false);
    expect(c.invalidationId).not.toBe(a.invalidationId);
  });

  it('records a taint of a date never run, which changes nothing for that date or others', async () => {
    await f.run({ date: D });
    const answer = await invalidate({
      computations: ['OrderTotals'],
      from: '2026-01-11',
      to: '2026-01-20',
      reason: 'never run yet',
    });
    expect(answer).toMatchObject({ replayed: false, tainted: 0 });
    await withEngine(async (engine) => expect(await invalidations(engine)).toBe(1));
    expect(statuses(await f.run({ date: D }))).toEqual(ALL_SKIPPED);
    const other = await f.run({ date: '2026-01-11' });
    expect(other.computations.OrderTotals.reason?.code).toBe('first-run');
    // the taint was of no result: the first result of that date is not tainted by it
    expect(statuses(await f.run({ date: '2026-01-11' })).OrderTotals).toBe('skipped');
  });

  it('refuses a bad request naming every problem, and appends nothing', async () => {
    await f.run({ date: D });
    const refused = (r: Omit<InvalidationRequest, 'requestedBy'>) =>
      invalidate(r).then(
        () => {
          throw new Error('expected a refusal');
        },
        (e: ApiRequestError) => e,
      );
    const e1 = await refused({ computations: ['OrderTotal'], from: D, to: D, reason: 'x' });
    expect(e1.status).toBe(404);
    expect(e1.message).toContain('unknown computation "OrderTotal" (did you mean "OrderTotals"?)');
    const e2 = await refused({
      computations: [],
      from: '2026-02-30',
      to: D,
      reason: '   ',
    });
    expect(e2.status).toBe(400);
    expect(e2.message).toBe(
      'name at least one computation to invalidate; from "2026-02-30" is not a calendar date as YYYY-MM-DD; a reason is required: say why these results are not to be trusted',
    );
    const e3 = await refused({ computations: ['OrderTotals'], from: D, to: D_1, reason: 'x' });
    expect(e3.message).toBe(`to ${D_1} is before from ${D}`);
    await withEngine(async (engine) => expect(await invalidations(engine)).toBe(0));
    expect(statuses(await f.run({ date: D }))).toEqual(ALL_SKIPPED);
  });

  it('shows the taint in audit and explain, and in the views rebuilt from the log', async () => {
    await f.run({ date: D });
    await invalidate({ computations: ['OrderTotals'], from: D, to: D, reason: 'reloaded' });
    await withEngine(async (engine) => {
      const q = embeddedQueries(engine);
      try {
        const audit = await q.queries.audit('OrderTotals', D);
        expect(audit.valid).toBe(false);
        expect(audit.taint).toMatchObject({ reason: 'reloaded', requestedBy: 'ops' });
        expect(audit.invalidations).toEqual([
          expect.objectContaining({ reason: 'reloaded', from: D, to: D, requestedBy: 'ops' }),
        ]);
        // analyze predicts the re-run, with the reason
        const predicted = await q.queries.analyze(D, [], { force: false, forceUpstream: false });
        expect(predicted.find((r) => r.computation === 'OrderTotals')).toMatchObject({
          prediction: 'run',
          why: 'changed: tainted',
        });
        const views = await readViews(engine.store);
        expect(views.hashIndex[hashKey('OrderTotals', D)].taint?.reason).toBe('reloaded');
        expect((await q.queries.backend.projections.verify()).equal).toBe(true);
      } finally {
        await q.close();
      }
    });
    await f.run({ date: D });
    await withEngine(async (engine) => {
      const q = embeddedQueries(engine);
      try {
        const explain = await q.queries.explain('OrderTotals', D);
        expect(explain.changedParts).toEqual([]);
        expect(explain.decision.reason).toEqual({ code: 'changed', changed: ['tainted'] });
        expect(explain.invalidations).toEqual([expect.objectContaining({ reason: 'reloaded' })]);
        const audit = await q.queries.audit('OrderTotals', D);
        expect(audit.valid).toBe(true);
        expect(audit.taint).toBeUndefined();
        expect(audit.invalidations).toHaveLength(1);
        // as of before the invalidation: none
        const before = await q.queries.audit('OrderTotals', D, '2000-01-01T00:00:00Z');
        expect(before.invalidations).toEqual([]);
      } finally {
        await q.close();
      }
    });
  });
});
