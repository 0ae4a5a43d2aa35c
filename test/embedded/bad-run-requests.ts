import { addDays } from '@almanac/kernel';
import { D } from './fixture';

/**
 * Run requests every entry point refuses before appending anything, as the CLI's arguments and as
 * the api's body, with the one message both give (issue 9, item 3). `known`: the project's
 * computations; the range is the default `dates` settings from today.
 */
interface BadRunRequest {
  what: string;
  cli: string[];
  api: Record<string, unknown>;
  /** the api's answer; the CLI exits 2 */
  status: 400 | 404;
  message: string;
}

export function badRunRequests(known: string[]): BadRunRequest[] {
  const names = [...known].sort().join(', ');
  const max = addDays(new Date().toISOString().slice(0, 10), 365);
  const outside = (date: string) =>
    `invalid run request: date "${date}" is outside the accepted range 1970-01-01 to ${max} (dates.min to today + dates.maxDaysAhead days, in almanac.config.ts)`;
  return [
    {
      what: 'an unknown computation',
      cli: ['--date', D, '--computation', 'NoSuch'],
      api: { date: D, targets: ['NoSuch'] },
      status: 404,
      message: `invalid run request: unknown computation "NoSuch"; known: ${names}`,
    },
    {
      what: 'a misspelt computation',
      cli: ['--date', D, '--computation', 'UserBnad'],
      api: { date: D, targets: ['UserBnad'] },
      status: 404,
      message: `invalid run request: unknown computation "UserBnad" (did you mean "UserBand"?); known: ${names}`,
    },
    {
      what: 'year 0',
      cli: ['--date', '0000-01-01'],
      api: { date: '0000-01-01' },
      status: 400,
      message: outside('0000-01-01'),
    },
    {
      what: 'year 9999',
      cli: ['--date', '9999-12-31'],
      api: { date: '9999-12-31' },
      status: 400,
      message: outside('9999-12-31'),
    },
    {
      what: 'February 30',
      cli: ['--date', '2026-02-30'],
      api: { date: '2026-02-30' },
      status: 400,
      message: 'invalid run request: date "2026-02-30" is not a calendar date as YYYY-MM-DD',
    },
    {
      what: 'the entity id of global results',
      cli: ['--date', D, '--entity', 'u1', '--entity', '_global'],
      api: { date: D, entityIds: ['u1', '_global'] },
      status: 400,
      message:
        'invalid run request: entity id "_global" is reserved for the results of global computations',
    },
    {
      what: 'an entity id with white space around it',
      cli: ['--date', D, '--entity', ' u1'],
      api: { date: D, entityIds: [' u1'] },
      status: 400,
      message: 'invalid run request: entity id " u1" starts or ends with white space',
    },
    {
      what: 'force with forceUpstream',
      cli: ['--date', D, '--computation', 'UserBand', '--force', '--force-upstream'],
      api: { date: D, targets: ['UserBand'], force: true, forceUpstream: true },
      status: 400,
      message:
        'invalid run request: force and forceUpstream (--force and --force-upstream) cannot be combined: forceUpstream already re-runs the targets, and their dependencies too',
    },
  ];
}
