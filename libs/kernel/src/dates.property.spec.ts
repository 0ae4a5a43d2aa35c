import fc from 'fast-check';
import { addDays, InvalidDateError, isValidDate } from './dates';

// Property tests: fast-check prints the seed and the shrunk counterexample when one fails.

const DAY_MS = 86_400_000;
const FIRST = Date.parse('0000-01-01T00:00:00Z') / DAY_MS;
const LAST = Date.parse('9999-12-31T00:00:00Z') / DAY_MS;
const day = (d: number) => new Date(d * DAY_MS).toISOString().slice(0, 10);
/** every date YYYY-MM-DD can write, 0000-01-01 to 9999-12-31 */
const calendarDate = fc.integer({ min: FIRST, max: LAST }).map(day);
const pad = (n: number, w: number) => String(n).padStart(w, '0');
/** YYYY-MM-DD shaped, with days and months past the end (Feb 30, month 13, day 00) */
const dateShaped = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 0, max: 99 }),
  )
  .map(([y, m, d]) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`);
/** the same date, as a Date round trip reads it */
const roundTrips = (s: string) => {
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
};

describe('dates (property-based)', () => {
  it('accepts every calendar date from 0000-01-01 to 9999-12-31', () => {
    fc.assert(
      fc.property(calendarDate, (s) => {
        expect(isValidDate(s)).toBe(true);
        expect(addDays(s, 0)).toBe(s);
      }),
      { numRuns: 300 },
    );
  });

  it('accepts a string exactly when it is YYYY-MM-DD and survives a Date round trip', () => {
    fc.assert(
      fc.property(fc.oneof(dateShaped, fc.string(), calendarDate), (s) => {
        expect(isValidDate(s)).toBe(/^\d{4}-\d{2}-\d{2}$/.test(s) && roundTrips(s));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses what is not a calendar date with a message naming it (Feb 30, month 13, random text)', () => {
    const invalid = fc.oneof(
      dateShaped.filter((s) => !roundTrips(s)),
      fc.string().filter((s) => !/^\d{4}-\d{2}-\d{2}$/.test(s)),
      fc.integer({ min: 0, max: 9999 }).map((y) => `${pad(y, 4)}-02-30`),
      fc.integer({ min: 0, max: 9999 }).map((y) => `${pad(y, 4)}-13-01`),
      fc.integer({ min: 10_000, max: 999_999 }).map((y) => `${y}-01-01`),
    );
    fc.assert(
      fc.property(invalid, (s) => {
        expect(isValidDate(s)).toBe(false);
        expect(() => addDays(s, 1)).toThrow(InvalidDateError);
        expect(() => addDays(s, 1)).toThrow(`invalid date "${s}"`);
      }),
      { numRuns: 300 },
    );
  });

  it('addDays moves by whole days and back again', () => {
    fc.assert(
      fc.property(calendarDate, fc.integer({ min: -2000, max: 2000 }), (s, n) => {
        const moved = addDays(s, n);
        fc.pre(isValidDate(moved));
        expect(addDays(moved, -n)).toBe(s);
        expect((Date.parse(moved) - Date.parse(s)) / DAY_MS).toBe(n);
      }),
      { numRuns: 300 },
    );
  });
});
