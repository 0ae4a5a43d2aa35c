/** Rounds to 6 decimals so results (and their hashes) do not depend on float noise; never returns -0. */
export function round6(x: number): number {
  const r = Math.round(x * 1e6) / 1e6;
  return r === 0 ? 0 : r;
}

/** Reads a numeric column; the warehouse may hand big integers over as strings. */
export function num(value: unknown, field: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isFinite(n)) {
    throw new TypeError(`column "${field}": expected a number, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Reads a text column (dates arrive as 'YYYY-MM-DD', timestamps as ISO strings). */
export function str(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw new TypeError(`column "${field}": expected a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Copies an object with its keys sorted, so results read the same whatever the row order. */
export function sortedRecord<T>(rec: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(rec).sort()) out[k] = rec[k];
  return out;
}
