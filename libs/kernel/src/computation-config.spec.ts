import { ManifestError } from './manifest-error';
import { parseComputationConfig } from './computation-config';

function errorOf(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    return e as ManifestError;
  }
  throw new Error('expected a ManifestError');
}

describe('parseComputationConfig', () => {
  it('fills every default', () => {
    expect(
      parseComputationConfig({ name: 'A', type: 'global', requires: { orders: {} } }, 'a.ts'),
    ).toEqual({
      name: 'A',
      type: 'global',
      requires: { orders: { lookback: 0, mandatory: false } },
      dependencies: [],
      schedule: { frequency: 'daily', time: '02:00', timezone: 'UTC', enabled: true },
      isHistorical: false,
      ttlDays: 365,
      failureTolerance: 0,
    });
  });

  it('keeps given values, including a per-requirement dateField and a partial schedule', () => {
    const c = parseComputationConfig(
      {
        name: 'UserPortfolioSummary',
        type: 'per-entity',
        requires: { orders: { lookback: 7, mandatory: true, dateField: 'ordered_at' } },
        dependencies: ['UserDailyActive'],
        schedule: { frequency: 'weekly' },
        isHistorical: true,
        ttlDays: 30,
        failureTolerance: 0.05,
      },
      'a.ts',
    );
    expect(c.requires.orders).toEqual({ lookback: 7, mandatory: true, dateField: 'ordered_at' });
    expect(c.schedule).toEqual({
      frequency: 'weekly',
      time: '02:00',
      timezone: 'UTC',
      days: ['mon'],
      enabled: true,
    });
    expect([c.isHistorical, c.ttlDays, c.failureTolerance, c.dependencies]).toEqual([
      true,
      30,
      0.05,
      ['UserDailyActive'],
    ]);
  });

  it('names the computation and the bad field path', () => {
    const e = errorOf(() =>
      parseComputationConfig(
        { name: 'UserStats', type: 'per-entity', requires: { orders: { lookback: '7' } } },
        'c/u.ts',
      ),
    );
    expect(e.code).toBe('invalid-config');
    expect(e.message).toBe(
      'computation "UserStats": invalid config: requires.orders.lookback: expected number, received string',
    );
  });

  it('rejects unknown fields at every level, with the closest valid field', () => {
    const e = errorOf(() =>
      parseComputationConfig(
        {
          name: 'UserStats',
          type: 'global',
          dependecies: [],
          requires: { orders: { lookbak: 1 } },
          schedule: { tz: 'UTC' },
        },
        'c/u.ts',
      ),
    );
    expect(e.message).toContain('computation "UserStats": invalid config: ');
    expect(e.message).toContain('dependecies: unknown field (did you mean "dependencies"?)');
    expect(e.message).toContain(
      'requires.orders.lookbak: unknown field (did you mean "lookback"?)',
    );
    expect(e.message).toContain('schedule.tz: unknown field');
  });

  it('uses `where` when the name is missing, and lists every bad field', () => {
    const e = errorOf(() =>
      parseComputationConfig(
        { type: 'sometimes', ttlDays: 0, failureTolerance: 1.5 },
        'computations/x.ts',
      ),
    );
    expect(e.message).toMatch(/^computations\/x\.ts: invalid config: /);
    expect(e.message).toContain('name: required, expected string');
    expect(e.message).toContain('type: expected one of "global"|"per-entity"');
    expect(e.message).toContain('ttlDays: Too small');
    expect(e.message).toContain('failureTolerance: Too big');
    expect(e.details.where).toBe('computations/x.ts');
  });

  it('rejects bad names, schedule times and negative lookbacks', () => {
    expect(() => parseComputationConfig({ name: '1abc', type: 'global' }, 'x.ts')).toThrow(
      'computation "1abc": invalid config: name: expected a name matching /^[A-Za-z][A-Za-z0-9_]*$/',
    );
    expect(() =>
      parseComputationConfig({ name: 'A', type: 'global', schedule: { time: '24:00' } }, 'x.ts'),
    ).toThrow('computation "A": invalid config: schedule.time: expected a time as HH:MM');
    expect(() =>
      parseComputationConfig(
        { name: 'A', type: 'global', requires: { t: { lookback: -1 } } },
        'x.ts',
      ),
    ).toThrow('requires.t.lookback: Too small');
  });
});
