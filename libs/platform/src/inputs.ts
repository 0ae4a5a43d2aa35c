import type { RequiredInput } from '@almanac/domain/executor';
import { scopeDigest, windowFor, type ComputationConfig } from '@almanac/kernel';
import type { InputFingerprint, TableRead, TableSettings } from '@almanac/warehouse';
import type { ProjectConfig } from './project-config';

/** Key of the entity set among a per-entity computation's hash inputs (no table name starts with '@'). */
export const ENTITY_SET_INPUT = '@entities';

/**
 * The entity set of a date as a hash input of per-entity computations: a user who signs up must
 * get results even from computations whose tables hold no row of theirs (else they would skip).
 */
export function entitySetInput(entityIds: string[], date: string): RequiredInput {
  return {
    table: ENTITY_SET_INPUT,
    mandatory: false,
    window: { from: date, to: date },
    rowCount: entityIds.length,
    digest: scopeDigest(entityIds),
  };
}

type Fingerprint = (
  table: string,
  settings: TableSettings,
  window: { from: string; to: string },
) => Promise<InputFingerprint>;

/** The fingerprint of each table a computation requires, over its date window. */
export function readRequiredInputs(
  requires: ComputationConfig['requires'],
  tables: ProjectConfig['tables'],
  date: string,
  fingerprint: Fingerprint,
): Promise<RequiredInput[]> {
  return Promise.all(
    Object.entries(requires).map(async ([table, req]) => {
      const { settings, window } = tableRead(table, req, tables, date);
      const fp = await fingerprint(table, settings, window);
      return { table, mandatory: req.mandatory, window, rowCount: fp.rowCount, digest: fp.digest };
    }),
  );
}

/** What a computation reads of one table it requires on `date`: its settings and date window. */
function tableRead(
  table: string,
  req: ComputationConfig['requires'][string],
  tables: ProjectConfig['tables'],
  date: string,
): TableRead {
  const base = tables[table];
  const settings = req.dateField ? { ...base, dateField: req.dateField } : base;
  return { table, settings, window: windowFor(date, req.lookback) };
}

/** Every table a computation requires, as it reads them on `date` (what staged reads stage). */
export function tableReads(
  requires: ComputationConfig['requires'],
  tables: ProjectConfig['tables'],
  date: string,
): TableRead[] {
  return Object.entries(requires).map(([table, req]) => tableRead(table, req, tables, date));
}
