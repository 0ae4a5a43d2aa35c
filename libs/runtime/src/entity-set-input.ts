import type { RequiredInput } from '@almanac/executor';
import { scopeDigest } from '@almanac/kernel';

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
