const DAY_MS = 86_400_000;

/** A date (`YYYY-MM-DD`) that cannot be used for date arithmetic. */
export class InvalidDateError extends Error {
  readonly code = 'invalid-date';
  constructor(readonly value: string) {
    super(`invalid date "${value}": expected a calendar date as YYYY-MM-DD`);
    this.name = 'InvalidDateError';
  }
}

/** True for a real calendar date written `YYYY-MM-DD`. */
export function isValidDate(s: string): boolean {
  if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

function toMs(date: string): number {
  if (!isValidDate(date)) throw new InvalidDateError(date);
  return Date.parse(`${date}T00:00:00Z`);
}

/** `date` plus `n` days (n may be negative), in UTC. */
export function addDays(date: string, n: number): string {
  if (!Number.isInteger(n)) throw new RangeError(`addDays: n must be an integer, got ${n}`);
  return new Date(toMs(date) + n * DAY_MS).toISOString().slice(0, 10);
}

export function previousDate(date: string): string {
  return addDays(date, -1);
}

/** The inclusive window a requirement with `lookback` days reads: [date - lookback, date]. */
export function windowFor(date: string, lookback: number): { from: string; to: string } {
  if (!Number.isInteger(lookback) || lookback < 0) {
    throw new RangeError(`windowFor: lookback must be an integer >= 0, got ${lookback}`);
  }
  return { from: addDays(date, -lookback), to: addDays(date, 0) };
}
