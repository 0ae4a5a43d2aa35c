// CONTRACT FILE (lead): the public shape of a computation. Implementations live beside it.
export type Row = Record<string, unknown>;
export type LogLevel = 'INFO' | 'WARN' | 'ERROR' | 'DEBUG';

export interface ComputationContext {
  /** target date, YYYY-MM-DD */
  readonly date: string;
  /** the entity (per-entity computations); '_global' for a global one */
  readonly entityId: string;
  /** table -> rows: this entity's rows (per-entity) or every row of the window (global) */
  readonly data: Record<string, Row[]>;
  /** this computation's result for the previous date, when isHistorical (else null) */
  readonly previousResult: unknown;
  /** a safe subset of the project configuration */
  readonly config: Readonly<Record<string, unknown>>;
  /** cached reference data (global mappings) */
  readonly references: Readonly<Record<string, unknown>>;
  /** shared business-rule modules */
  readonly rules: Readonly<Record<string, unknown>>;
  /** a dependency's result; entity defaults to the current one; '_global' for a global result */
  getDependency<T = any>(name: string, entityId?: string): T | null;
}
