import { Computation, type ComputationClass } from './computation';
import { parseComputationConfig } from './computation-config';
import { buildManifest } from './manifest';
import { ManifestError } from './manifest-error';
import {
  availableAt,
  dataDateOf,
  describeSchedule,
  resolveSchedule,
  slotsBetween,
  type Schedule,
} from './schedule';

const iso = (ds: Date[]) => ds.map((d) => d.toISOString());
const at = (s: string) => new Date(s);

function comp(name: string, dependencies: string[], schedule?: unknown): ComputationClass {
  return class extends Computation {
    static override getConfig() {
      return { name, type: 'global', dependencies, ...(schedule ? { schedule } : {}) };
    }
    async process() {
      return null;
    }
  };
}

function manifestError(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    return e as ManifestError;
  }
  throw new Error('expected a ManifestError');
}

describe('schedules in a computation config', () => {
  it('given no schedule, when parsed, then daily 02:00 UTC, enabled', () => {
    expect(parseComputationConfig({ name: 'A', type: 'global' }, 'a.ts').schedule).toEqual({
      frequency: 'daily',
      time: '02:00',
      timezone: 'UTC',
      enabled: true,
    });
  });

  it("given a project default, when a computation sets some fields, then its own win and the rest are the project's", () => {
    const defaults = {
      time: '04:30',
      timezone: 'Europe/Paris',
      availableAfter: { days: 1, time: '06:00' },
    };
    const c = parseComputationConfig(
      { name: 'A', type: 'global', schedule: { time: '05:00', enabled: false } },
      'a.ts',
      defaults,
    );
    expect(c.schedule).toEqual({
      frequency: 'daily',
      time: '05:00',
      timezone: 'Europe/Paris',
      enabled: false,
      availableAfter: { days: 1, time: '06:00' },
    });
  });

  it('given an unknown IANA zone, when parsed, then a manifest error names the computation and the zone', () => {
    const e = manifestError(() =>
      parseComputationConfig(
        { name: 'Daily', type: 'global', schedule: { timezone: 'Europe/Pariss' } },
        'd.ts',
      ),
    );
    expect(e.code).toBe('invalid-config');
    expect(e.message).toBe(
      'computation "Daily": invalid config: schedule.timezone: unknown time zone "Europe/Pariss" (expected an IANA name such as "Europe/Paris" or "UTC")',
    );
  });

  it('given days that do not fit the frequency, when parsed, then the error says which days fit', () => {
    expect(() =>
      parseComputationConfig(
        { name: 'W', type: 'global', schedule: { frequency: 'weekly', days: [3] } },
        'w.ts',
      ),
    ).toThrow(
      'schedule.days: a weekly schedule takes weekday names (sun, mon, tue, wed, thu, fri, sat), got 3',
    );
    expect(() =>
      parseComputationConfig(
        { name: 'M', type: 'global', schedule: { frequency: 'monthly', days: ['mon'] } },
        'm.ts',
      ),
    ).toThrow('schedule.days: a monthly schedule takes days of the month (1-31), got "mon"');
    expect(() =>
      parseComputationConfig({ name: 'D', type: 'global', schedule: { days: [1] } }, 'd.ts'),
    ).toThrow('schedule.days: days applies to weekly and monthly schedules, not daily');
  });
});

describe('slots', () => {
  const daily = (time: string, timezone: string): Schedule =>
    resolveSchedule({ frequency: 'daily', time, timezone });

  it('given daily 02:00 in New York and in Tokyo, when a day passes, then each fires at its local 02:00', () => {
    const from = at('2026-12-01T00:00:00Z');
    const to = at('2026-12-02T00:00:00Z');
    expect(iso(slotsBetween(daily('02:00', 'America/New_York'), from, to))).toEqual([
      '2026-12-01T07:00:00.000Z',
    ]);
    expect(iso(slotsBetween(daily('02:00', 'Asia/Tokyo'), from, to))).toEqual([
      '2026-12-01T17:00:00.000Z',
    ]);
  });

  it('given daily 02:30 Europe/Berlin, when clocks go forward (02:30 does not exist), then it fires once at 03:00 local', () => {
    const slots = slotsBetween(
      daily('02:30', 'Europe/Berlin'),
      at('2026-03-28T00:00:00Z'),
      at('2026-03-31T00:00:00Z'),
    );
    // 01:30Z = 02:30 CET; on the 29th 01:00Z = 03:00 CEST; then 00:30Z = 02:30 CEST
    expect(iso(slots)).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('given daily 02:30 Europe/Berlin, when clocks go back (02:30 happens twice), then it fires once, at the first', () => {
    const slots = slotsBetween(
      daily('02:30', 'Europe/Berlin'),
      at('2026-10-24T00:00:00Z'),
      at('2026-10-27T00:00:00Z'),
    );
    expect(iso(slots)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('given weekly mon,thu and monthly 1,15, when a month passes, then only those days fire', () => {
    const weekly = resolveSchedule({ frequency: 'weekly', days: ['mon', 'thu'], time: '06:00' });
    expect(
      iso(slotsBetween(weekly, at('2026-11-30T00:00:00Z'), at('2026-12-08T00:00:00Z'))),
    ).toEqual([
      '2026-11-30T06:00:00.000Z', // Monday
      '2026-12-03T06:00:00.000Z', // Thursday
      '2026-12-07T06:00:00.000Z', // Monday
    ]);
    const monthly = resolveSchedule({ frequency: 'monthly', days: [1, 15], time: '01:00' });
    expect(
      iso(slotsBetween(monthly, at('2026-11-01T00:00:00Z'), at('2026-12-31T00:00:00Z'))),
    ).toEqual([
      '2026-11-01T01:00:00.000Z',
      '2026-11-15T01:00:00.000Z',
      '2026-12-01T01:00:00.000Z',
      '2026-12-15T01:00:00.000Z',
    ]);
  });

  it('given a weekly schedule without days, then it runs on Mondays; monthly without days, on the 1st', () => {
    expect(resolveSchedule({ frequency: 'weekly' }).days).toEqual(['mon']);
    expect(resolveSchedule({ frequency: 'monthly' }).days).toEqual([1]);
    expect(describeSchedule(resolveSchedule({ frequency: 'hourly', time: '00:15' }))).toBe(
      'hourly at :15 UTC',
    );
  });

  it('given a slot, then daily/weekly/monthly run the day before it (local), hourly its own day', () => {
    const ny = daily('02:00', 'America/New_York');
    // 2026-12-01T03:00Z is still 2026-11-30 in New York
    expect(dataDateOf(ny, at('2026-12-01T07:00:00Z'))).toBe('2026-11-30');
    expect(dataDateOf(daily('02:00', 'Asia/Tokyo'), at('2026-11-30T17:00:00Z'))).toBe('2026-11-30');
    expect(dataDateOf(resolveSchedule({ frequency: 'hourly' }), at('2026-12-01T13:00:00Z'))).toBe(
      '2026-12-01',
    );
  });

  it('given availableAfter { days: 1, time: 06:00 }, then the data of D is available at D+1 06:00 in the zone', () => {
    const s = resolveSchedule({
      timezone: 'Europe/Paris',
      availableAfter: { days: 1, time: '06:00' },
    });
    expect(availableAt(s, '2026-11-30')?.toISOString()).toBe('2026-12-01T05:00:00.000Z');
    expect(availableAt(s, '2026-07-14')?.toISOString()).toBe('2026-07-15T04:00:00.000Z');
    expect(availableAt(resolveSchedule({}), '2026-11-30')).toBeNull();
  });
});

describe('dependency gap', () => {
  it('given a dependant 10 min after its dependency, when the manifest is built, then it is rejected naming both', () => {
    const e = manifestError(() =>
      buildManifest([
        { ctor: comp('Prices', [], { time: '02:00' }), file: 'p.ts' },
        { ctor: comp('Risk', ['Prices'], { time: '02:10' }), file: 'r.ts' },
      ]),
    );
    expect(e.code).toBe('schedule-gap');
    expect(e.message).toContain(
      'computation "Risk" (daily 02:10 UTC) is scheduled 10 min after its dependency "Prices" (daily 02:00 UTC)',
    );
    expect(e.message).toContain('at least 15 min after them (scheduler.dependencyGapMinutes)');
  });

  it('given the gap across time zones and frequencies, then it is measured between instants', () => {
    // 03:05 Paris in winter = 02:05 UTC: 5 min after the hourly dependency's 02:00
    const e = manifestError(() =>
      buildManifest([
        { ctor: comp('Ticks', [], { frequency: 'hourly', time: '00:00' }), file: 't.ts' },
        {
          ctor: comp('Daily', ['Ticks'], { time: '03:05', timezone: 'Europe/Paris' }),
          file: 'd.ts',
        },
      ]),
    );
    expect(e.message).toContain('"Daily" (daily 03:05 Europe/Paris) is scheduled 5 min after');
  });

  it('given the same instant, 15 min, a disabled dependency or a smaller configured gap, then it is accepted', () => {
    const build = (depSchedule: unknown, ownSchedule: unknown, gap?: number) =>
      buildManifest(
        [
          { ctor: comp('A', [], depSchedule), file: 'a.ts' },
          { ctor: comp('B', ['A'], ownSchedule), file: 'b.ts' },
        ],
        { dependencyGapMinutes: gap },
      );
    expect(() => build(undefined, undefined)).not.toThrow();
    expect(() => build({ time: '02:00' }, { time: '02:15' })).not.toThrow();
    expect(() => build({ time: '02:00', enabled: false }, { time: '02:05' })).not.toThrow();
    expect(() => build({ time: '02:00' }, { time: '02:05' }, 5)).not.toThrow();
    expect(() => build({ time: '02:00' }, { time: '02:05' }, 6)).toThrow('scheduled 5 min after');
  });
});
