import { compositeHash, scopeDigest } from '@almanac/kernel';
import {
  blockedBy,
  evaluateComputation,
  planBatches,
  type EvaluateInput,
  type LastCompleted,
} from './evaluate';

const window = { from: '2026-01-08', to: '2026-01-15' };

/** UserScore reads trades (mandatory) and fx (optional), and depends on Prices and Users. */
function given(over: Partial<EvaluateInput> = {}): EvaluateInput {
  return {
    computation: 'UserScore',
    codeHash: 'code-1',
    epoch: '1',
    force: false,
    scopedEntityIds: null,
    dependencies: [
      { name: 'Users', status: 'skipped', resultHash: 'res-users-1' },
      { name: 'Prices', status: 'completed', resultHash: 'res-prices-1' },
    ],
    inputs: [
      { table: 'trades', mandatory: true, window, rowCount: 10, digest: 'fp-trades-1' },
      { table: 'fx', mandatory: false, window, rowCount: 3, digest: 'fp-fx-1' },
    ],
    isHistorical: false,
    previousResultHash: null,
    lastCompleted: null,
    ...over,
  };
}

/** What the log holds after `input` ran and completed with `resultHash`. */
function completedBefore(
  input: EvaluateInput,
  resultHash = 'res-score-1',
  valid = true,
): LastCompleted {
  const e = evaluateComputation({ ...input, lastCompleted: null });
  if (e.kind !== 'run') throw new Error(`expected the earlier evaluation to run, got ${e.kind}`);
  return {
    compositeHash: e.compositeHash,
    hashParts: e.hashParts,
    resultHash,
    resultVersion: 'r0/1',
    valid,
  };
}

describe('evaluateComputation', () => {
  describe('blocked', () => {
    it('is blocked by failed, blocked and impossible dependencies, listing each with its status', () => {
      const e = evaluateComputation(
        given({
          dependencies: [
            { name: 'A', status: 'completed', resultHash: 'ra' },
            { name: 'B', status: 'failed', resultHash: null },
            { name: 'C', status: 'blocked', resultHash: null },
            { name: 'D', status: 'skipped', resultHash: 'rd' },
            { name: 'E', status: 'impossible', resultHash: null },
          ],
        }),
      );
      expect(e).toEqual({
        kind: 'blocked',
        status: 'blocked',
        reason: {
          code: 'dependency-not-ready',
          dependencies: [
            { name: 'B', status: 'failed' },
            { name: 'C', status: 'blocked' },
            { name: 'E', status: 'impossible' },
          ],
        },
      });
    });

    it('is blocked before anything else is looked at: an empty mandatory table or force do not change it', () => {
      const e = evaluateComputation(
        given({
          force: true,
          dependencies: [{ name: 'Prices', status: 'failed', resultHash: null }],
          inputs: [{ table: 'trades', mandatory: true, window, rowCount: 0, digest: 'fp-empty' }],
        }),
      );
      expect(e.kind).toBe('blocked');
      expect(e.reason).toEqual({
        code: 'dependency-not-ready',
        dependencies: [{ name: 'Prices', status: 'failed' }],
      });
    });

    it('reports a dependency that is still pending or running as blocked (a planning bug, never guessed as ready)', () => {
      expect(
        blockedBy([
          { name: 'A', status: 'pending', resultHash: null },
          { name: 'B', status: 'running', resultHash: null },
        ]),
      ).toEqual({
        kind: 'blocked',
        status: 'blocked',
        reason: {
          code: 'dependency-not-ready',
          dependencies: [
            { name: 'A', status: 'blocked' },
            { name: 'B', status: 'blocked' },
          ],
        },
      });
    });

    it('is not blocked when every dependency completed or skipped', () => {
      expect(blockedBy(given().dependencies)).toBeNull();
    });
  });

  describe('impossible', () => {
    it('is impossible when a mandatory table has no rows in the window, naming the table and window', () => {
      const e = evaluateComputation(
        given({
          inputs: [
            { table: 'fx', mandatory: false, window, rowCount: 3, digest: 'fp-fx-1' },
            { table: 'trades', mandatory: true, window, rowCount: 0, digest: 'fp-empty' },
          ],
        }),
      );
      expect(e).toEqual({
        kind: 'impossible',
        status: 'impossible',
        reason: {
          code: 'mandatory-table-empty',
          table: 'trades',
          window: { from: '2026-01-08', to: '2026-01-15' },
        },
      });
    });

    it('runs when the empty table is not mandatory', () => {
      const e = evaluateComputation(
        given({
          inputs: [
            { table: 'trades', mandatory: true, window, rowCount: 10, digest: 'fp-trades-1' },
            { table: 'fx', mandatory: false, window, rowCount: 0, digest: 'fp-empty' },
          ],
        }),
      );
      expect(e.kind).toBe('run');
      expect(e.reason).toEqual({ code: 'first-run' });
    });
  });

  describe('skipped', () => {
    it('skips when the composite hash equals the last valid completed one, carrying the stored result hash', () => {
      const input = given();
      const last = completedBefore(input, 'res-score-1');
      const e = evaluateComputation({ ...input, lastCompleted: last });
      expect(e).toEqual({
        kind: 'skipped',
        status: 'skipped',
        reason: { code: 'unchanged', compositeHash: last.compositeHash },
        compositeHash: last.compositeHash,
        hashParts: last.hashParts,
        resultHash: 'res-score-1',
        resultVersion: 'r0/1',
      });
    });

    it('the composite hash is the hash of the parts, with dependencies sorted by name', () => {
      const e = evaluateComputation(given());
      if (e.kind !== 'run') throw new Error(e.kind);
      expect(e.hashParts).toEqual({
        code: 'code-1',
        epoch: '1',
        inputs: { trades: 'fp-trades-1', fx: 'fp-fx-1' },
        dependencies: { Prices: 'res-prices-1', Users: 'res-users-1' },
        previous: null,
        scope: null,
      });
      expect(Object.keys(e.hashParts.dependencies)).toEqual(['Prices', 'Users']);
      expect(e.compositeHash).toBe(compositeHash(e.hashParts));
    });

    it('early cutoff: a dependency that re-ran but kept the same result hash does not make it run', () => {
      // last time Prices was skipped; this time it re-ran (completed) with the same result
      const before = given({
        dependencies: [
          { name: 'Users', status: 'skipped', resultHash: 'res-users-1' },
          { name: 'Prices', status: 'skipped', resultHash: 'res-prices-1' },
        ],
      });
      const e = evaluateComputation({ ...given(), lastCompleted: completedBefore(before) });
      expect(e.kind).toBe('skipped');
      expect(e.reason.code).toBe('unchanged');
    });

    it('runs against a tainted result whose hash is unchanged, saying it was tainted (ADR 0018)', () => {
      const input = given();
      const last = { ...completedBefore(input), valid: false, taint: { reason: 'bad' } };
      const e = evaluateComputation({ ...input, lastCompleted: last });
      expect(e.kind).toBe('run');
      expect(e.reason).toEqual({ code: 'changed', changed: ['tainted'] });
      // and with other changes, the taint is named with them
      const other = evaluateComputation({ ...input, codeHash: 'other', lastCompleted: last });
      expect(other.reason).toEqual({ code: 'changed', changed: ['code', 'tainted'] });
    });

    it('ignores the previous date result when the computation is not historical', () => {
      const input = given({ isHistorical: false, previousResultHash: 'prev-1' });
      const e = evaluateComputation({
        ...input,
        previousResultHash: 'prev-2',
        lastCompleted: completedBefore(input),
      });
      expect(e.kind).toBe('skipped');
    });
  });

  describe('runs', () => {
    const last = completedBefore(given({ isHistorical: true, previousResultHash: 'prev-1' }));
    const changedBy = (over: Partial<EvaluateInput>) =>
      evaluateComputation(
        given({ isHistorical: true, previousResultHash: 'prev-1', lastCompleted: last, ...over }),
      );

    it('runs with reason changed: [code] when only the code changed', () => {
      const e = changedBy({ codeHash: 'code-2' });
      expect(e.kind).toBe('run');
      expect(e.reason).toEqual({ code: 'changed', changed: ['code'] });
    });

    it('names the table whose window fingerprint changed (late-arriving data)', () => {
      const e = changedBy({
        inputs: [
          { table: 'trades', mandatory: true, window, rowCount: 11, digest: 'fp-trades-2' },
          { table: 'fx', mandatory: false, window, rowCount: 3, digest: 'fp-fx-1' },
        ],
      });
      expect(e.reason).toEqual({ code: 'changed', changed: ['inputs.trades'] });
    });

    it('names the dependency whose result hash changed', () => {
      const e = changedBy({
        dependencies: [
          { name: 'Users', status: 'skipped', resultHash: 'res-users-1' },
          { name: 'Prices', status: 'completed', resultHash: 'res-prices-2' },
        ],
      });
      expect(e.reason).toEqual({ code: 'changed', changed: ['dependencies.Prices'] });
    });

    it('names previous when the previous date result of a historical computation changed', () => {
      expect(changedBy({ previousResultHash: 'prev-2' }).reason).toEqual({
        code: 'changed',
        changed: ['previous'],
      });
    });

    it('lists exactly the changed parts, in order, when several changed', () => {
      const e = changedBy({
        codeHash: 'code-2',
        epoch: '2',
        inputs: [
          { table: 'trades', mandatory: true, window, rowCount: 10, digest: 'fp-trades-1' },
          { table: 'fx', mandatory: false, window, rowCount: 4, digest: 'fp-fx-2' },
        ],
        dependencies: [
          { name: 'Users', status: 'completed', resultHash: 'res-users-2' },
          { name: 'Prices', status: 'completed', resultHash: 'res-prices-1' },
        ],
        previousResultHash: 'prev-2',
      });
      expect(e.reason).toEqual({
        code: 'changed',
        changed: ['code', 'epoch', 'inputs.fx', 'dependencies.Users', 'previous'],
      });
      if (e.kind !== 'run') throw new Error(e.kind);
      expect(e.compositeHash).not.toBe(last.compositeHash);
    });

    it('runs with reason forced when forced, even though nothing changed', () => {
      const input = given({ force: true });
      const e = evaluateComputation({ ...input, lastCompleted: completedBefore(input) });
      expect(e.kind).toBe('run');
      expect(e.reason).toEqual({ code: 'forced', changed: [] });
    });

    it('a forced run still says what changed', () => {
      const e = changedBy({ force: true, codeHash: 'code-2' });
      expect(e.reason).toEqual({ code: 'forced', changed: ['code'] });
    });

    it('runs with reason scoped when restricted to some entities, counting distinct ids, and puts the scope in the hash', () => {
      const e = evaluateComputation(given({ scopedEntityIds: ['u2', 'u1', 'u2'] }));
      expect(e.kind).toBe('run');
      expect(e.reason).toEqual({ code: 'scoped', entities: 2 }); // u2 twice is one entity
      if (e.kind !== 'run') throw new Error(e.kind);
      expect(e.hashParts.scope).toBe(scopeDigest(['u1', 'u2']));
    });

    it('a scoped run is never skipped, even when the same scope completed with the same hash', () => {
      const input = given({ scopedEntityIds: ['u1', 'u2'] });
      const e = evaluateComputation({ ...input, lastCompleted: completedBefore(input) });
      expect(e.kind).toBe('run');
      expect(e.reason).toEqual({ code: 'scoped', entities: 2 });
    });

    it('runs with reason first-run when there is no earlier result', () => {
      const e = evaluateComputation(given({ lastCompleted: null }));
      expect(e.kind).toBe('run');
      expect(e.reason).toEqual({ code: 'first-run' });
    });

    it('runs when the last result is partial (a run restricted to some entities) even though its hash is equal', () => {
      const input = given();
      const e = evaluateComputation({
        ...input,
        lastCompleted: completedBefore(input, 'res-partial', false),
      });
      expect(e.kind).toBe('run');
      expect(e.reason).toEqual({ code: 'changed', changed: ['last-result-partial'] });
    });

    it('an invalid last result with a different hash reports the changed parts only', () => {
      const input = given();
      const e = evaluateComputation({
        ...input,
        codeHash: 'code-2',
        lastCompleted: completedBefore(input, 'res-partial', false),
      });
      expect(e.reason).toEqual({ code: 'changed', changed: ['code'] });
    });
  });
});

describe('planBatches', () => {
  it('splits 2,500 ids at 1000 into 1000, 1000 and 500, keeping the order', () => {
    const ids = Array.from({ length: 2500 }, (_, i) => `u${String(i).padStart(4, '0')}`);
    const batches = planBatches(ids, 1000);
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(batches[0][0]).toBe('u0000');
    expect(batches[1][0]).toBe('u1000');
    expect(batches[2][499]).toBe('u2499');
    expect(batches.flat()).toEqual(ids);
  });

  it('returns no batch for no ids', () => {
    expect(planBatches([], 1000)).toEqual([]);
  });

  it('throws for a batch size of 0', () => {
    expect(() => planBatches(['u1'], 0)).toThrow('batch size must be at least 1, got 0');
  });
});
