import {
  describeRunRequestIssues,
  runRequestIssues,
  type RunRequestRules,
} from './run-request.rules';

const rules: RunRequestRules = {
  computations: ['UserBand', 'OrderTotals', 'DailyVolume'],
  dates: { min: '1970-01-01', maxDaysAhead: 365 },
  today: '2026-12-01',
};
const messages = (request: Parameters<typeof runRequestIssues>[0], r = rules) =>
  runRequestIssues(request, r).map((i) => i.message);

describe('the rules of a run request (the CLI, the api and the planner)', () => {
  it('accepts a calendar date from dates.min to today + dates.maxDaysAhead, both included', () => {
    for (const date of ['1970-01-01', '2026-01-15', '2027-12-01'])
      expect(runRequestIssues({ date }, rules)).toEqual([]);
  });

  it('refuses a date outside that range, naming the range and where it is set', () => {
    const range =
      'the accepted range 1970-01-01 to 2027-12-01 (dates.min to today + dates.maxDaysAhead days, in almanac.config.ts)';
    expect(messages({ date: '0000-01-01' })).toEqual([`date "0000-01-01" is outside ${range}`]);
    expect(messages({ date: '1969-12-31' })).toEqual([`date "1969-12-31" is outside ${range}`]);
    expect(messages({ date: '2027-12-02' })).toEqual([`date "2027-12-02" is outside ${range}`]);
    expect(messages({ date: '9999-12-31' })).toEqual([`date "9999-12-31" is outside ${range}`]);
  });

  it('follows dates settings', () => {
    const mine = { ...rules, dates: { min: '2020-01-01', maxDaysAhead: 0 } };
    expect(runRequestIssues({ date: '2026-12-01' }, mine)).toEqual([]);
    expect(runRequestIssues({ date: '2026-12-02' }, mine)[0]).toMatchObject({
      path: 'date',
      code: 'date-out-of-range',
    });
    expect(runRequestIssues({ date: '2019-12-31' }, mine)[0].code).toBe('date-out-of-range');
  });

  it('caps the range at 9999-12-31 when today + dates.maxDaysAhead is past it (found by a property test)', () => {
    // the range's end used to be written "+010000-01-01" (refusing every date) or to throw a RangeError
    for (const maxDaysAhead of [2_932_897, 100_000_001, Number.MAX_SAFE_INTEGER]) {
      const far = { ...rules, dates: { min: '1970-01-01', maxDaysAhead } };
      expect(runRequestIssues({ date: '2026-12-01' }, far)).toEqual([]);
      expect(runRequestIssues({ date: '9999-12-31' }, far)).toEqual([]);
      expect(runRequestIssues({ date: '1969-12-31' }, far)[0].message).toContain(
        'the accepted range 1970-01-01 to 9999-12-31',
      );
    }
  });

  it('refuses what is not a calendar date as YYYY-MM-DD', () => {
    for (const date of ['2026-02-30', '2026-1-5', '15/01/2026', ''])
      expect(runRequestIssues({ date }, rules)).toEqual([
        {
          path: 'date',
          code: 'invalid-date',
          message: `date "${date}" is not a calendar date as YYYY-MM-DD`,
        },
      ]);
  });

  it('refuses unknown computations with the closest known name and every known one', () => {
    expect(runRequestIssues({ date: '2026-01-15', targets: ['UserBnad'] }, rules)).toEqual([
      {
        path: 'targets',
        code: 'unknown-computation',
        message:
          'unknown computation "UserBnad" (did you mean "UserBand"?); known: DailyVolume, OrderTotals, UserBand',
      },
    ]);
    expect(messages({ date: '2026-01-15', targets: ['UserBand', 'NoSuch', 'NoSuch'] })).toEqual([
      'unknown computation "NoSuch"; known: DailyVolume, OrderTotals, UserBand',
    ]);
  });

  it('refuses entity ids that cannot name an entity', () => {
    expect(
      messages({
        date: '2026-01-15',
        entityIds: ['u1', '', '_global', ' u2', 'u\n3', 'x'.repeat(257), 'x'.repeat(256)],
      }),
    ).toEqual([
      'entity id "" is empty',
      'entity id "_global" is reserved for the results of global computations',
      'entity id " u2" starts or ends with white space',
      'entity id "u\\n3" contains a control character',
      `entity id "${'x'.repeat(40)}..." is longer than 256 characters`,
    ]);
  });

  it('refuses force with forceUpstream; either alone is fine', () => {
    expect(messages({ date: '2026-01-15', force: true, forceUpstream: true })).toEqual([
      'force and forceUpstream (--force and --force-upstream) cannot be combined: forceUpstream already re-runs the targets, and their dependencies too',
    ]);
    expect(messages({ date: '2026-01-15', force: true })).toEqual([]);
    expect(messages({ date: '2026-01-15', forceUpstream: true })).toEqual([]);
  });

  it('names every issue in one message', () => {
    const issues = runRequestIssues(
      { date: '9999-12-31', targets: ['Nope'], entityIds: ['_global'] },
      rules,
    );
    expect(issues.map((i) => i.path)).toEqual(['date', 'targets', 'entityIds']);
    expect(describeRunRequestIssues(issues)).toMatch(
      /^invalid run request: date "9999-12-31" is outside .*; unknown computation "Nope"; known: .*; entity id "_global" is reserved/,
    );
  });
});
