/**
 * `listEntitiesByDate` from one read of each id's earliest date: for each of `dates`, the ids
 * (as text, sorted) whose earliest date is on or before it. Rows with a null id or date are left
 * out, as `listEntities` leaves them out.
 */
export function entitiesAsOfDates(
  firsts: Array<{ id: unknown; first: unknown }>,
  dates: string[],
): string[][] {
  const known = firsts
    .filter((f) => f.id !== null && f.first !== null)
    .map((f) => ({ id: String(f.id), first: String(f.first) }))
    .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  return dates.map((day) => known.filter((f) => f.first <= day).map((f) => f.id));
}
