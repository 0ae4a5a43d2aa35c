import type { UpcasterRegistry } from './event-schemas';

/**
 * The steps from each event type's older schema versions to its current one, applied on read
 * (ADR 0011). None yet: every type is at version 1. A shape change that old readers cannot take
 * (a rename, a new meaning) bumps the type's `schemaVersion` in EventCatalog and adds its step
 * here, `{ 1: (event) => ({ ...event, payload: ... }) }`; createEventSchemas refuses a chain with
 * a gap. An added optional field needs neither.
 */
export const upcasters: UpcasterRegistry = {};
