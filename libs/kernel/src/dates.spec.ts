import { addDays, InvalidDateError, isValidDate, previousDate, windowFor } from './dates';

describe('dates (UTC)', () => {
  it('adds days across months, leap days and years', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2023-02-28', 1)).toBe('2023-03-01');
    expect(addDays('2026-01-01', -1)).toBe('2025-12-31');
    expect(addDays('2026-03-29', 0)).toBe('2026-03-29');
    expect(previousDate('2026-03-01')).toBe('2026-02-28');
  });

  it('gives the inclusive lookback window', () => {
    expect(windowFor('2026-01-15', 7)).toEqual({ from: '2026-01-08', to: '2026-01-15' });
    expect(windowFor('2026-01-15', 0)).toEqual({ from: '2026-01-15', to: '2026-01-15' });
    expect(() => windowFor('2026-01-15', -1)).toThrow('lookback must be an integer >= 0, got -1');
  });

  it('validates dates', () => {
    expect(isValidDate('2026-01-15')).toBe(true);
    expect(isValidDate('2026-02-30')).toBe(false);
    expect(isValidDate('2026-1-5')).toBe(false);
    expect(() => addDays('2026-13-01', 1)).toThrow(InvalidDateError);
    expect(() => addDays('nope', 1)).toThrow(
      'invalid date "nope": expected a calendar date as YYYY-MM-DD',
    );
  });
});
