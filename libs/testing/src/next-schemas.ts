import { z } from 'zod';
import {
  BatchRequestedPayload,
  ComputationCompletedPayload,
  createEventSchemas,
  EVENT_TYPES,
  EventCatalog,
  type PayloadOf,
  resultVersionOf,
} from '@almanac/contracts';

/**
 * ComputationCompleted v2: `resultVersion` is always there (null: readers see no result). In v1 it
 * may be absent (events recorded before results were versioned), and readers apply
 * resultVersionOf's rule; the step from v1 applies it once.
 */
export const ComputationCompletedV2Payload = ComputationCompletedPayload.extend({
  resultVersion: z.string().min(1).nullable(),
});

/** BatchRequested v2: `resultVersion` is always there; absent in v1, it was the run id. */
export const BatchRequestedV2Payload = BatchRequestedPayload.extend({
  resultVersion: z.string().min(1),
});

/**
 * The contracts' catalog one version on, for tests of upcasting (ADR 0011): ComputationCompleted
 * (read by the projections) and BatchRequested (read by the worker from the bus) at
 * schemaVersion 2, each with its step from 1. Each v2 only makes explicit what v1 left to readers,
 * so today's projections and handlers read v2 payloads unchanged.
 */
export const nextSchemas = createEventSchemas({
  catalog: {
    ...EventCatalog,
    ComputationCompleted: { schemaVersion: 2, payload: ComputationCompletedV2Payload },
    BatchRequested: { schemaVersion: 2, payload: BatchRequestedV2Payload },
  },
  upcasters: {
    ComputationCompleted: {
      1: (e) => {
        const p = e.payload as PayloadOf<'ComputationCompleted'>;
        return { ...e, payload: { ...p, resultVersion: resultVersionOf(p) } };
      },
    },
    BatchRequested: {
      1: (e) => {
        const p = e.payload as PayloadOf<'BatchRequested'>;
        return { ...e, payload: { ...p, resultVersion: p.resultVersion ?? p.runId } };
      },
    },
  },
});

/**
 * A writer that knows only version 1 of every type and takes payloads as they are: the old
 * deployment that wrote a v1 log. A store opened with it writes the fixture's events unchanged
 * (no upcasting at append), whatever the catalog's current versions are.
 */
export const v1Writer = createEventSchemas({
  catalog: Object.fromEntries(
    EVENT_TYPES.map((t) => [t, { schemaVersion: 1, payload: z.unknown() }]),
  ),
  upcasters: {},
});
