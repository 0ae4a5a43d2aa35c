import type { ComputationContext, Row } from '@almanac/kernel';

interface FakeContextInit {
  date: string;
  entityId?: string;
  data?: Record<string, Row[]>;
  previousResult?: unknown;
  /** computation -> entityId ('_global' for a global result) -> result */
  dependencies?: Record<string, Record<string, unknown>>;
}

/** A plain ComputationContext, as the worker would build it from fetched rows and results. */
export function fakeContext(init: FakeContextInit): ComputationContext {
  const entityId = init.entityId ?? '_global';
  return {
    date: init.date,
    entityId,
    data: init.data ?? {},
    previousResult: init.previousResult ?? null,
    config: {},
    references: {},
    rules: {},
    getDependency<T>(name: string, id?: string): T | null {
      return (init.dependencies?.[name]?.[id ?? entityId] as T | undefined) ?? null;
    },
  };
}

/** Deterministic reordering, to show a result does not depend on row order. */
export function reversed<T>(rows: T[]): T[] {
  return [...rows].reverse();
}
