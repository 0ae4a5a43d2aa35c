// CONTRACT FILE (lead): the public shape of a computation. Implementations live beside it.
import { AsyncLocalStorage } from 'node:async_hooks';

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

// ---- implementation (kernel) ----

export interface LogLine {
  level: LogLevel;
  computation: string;
  entityId: string;
  message: string;
}
export type LogSink = (line: LogLine) => void;

interface LogContext {
  computation: string;
  entityId: string;
  sink: LogSink;
}

// One Computation instance serves many entities at once, so the entity a log line belongs to
// travels with the async call chain, not with the instance.
const logContext = new AsyncLocalStorage<LogContext>();

/** Runs `fn` so that `this.log(...)` inside it is tagged with this computation and entity. */
export function runWithLogContext<T>(ctx: LogContext, fn: () => T): T {
  return logContext.run(ctx, fn);
}

// Symbol.for: a computation file may load the kernel as another module instance (isComputationClass)
const ENTITY_LOG = Symbol.for('almanac.logContext');

/**
 * A per-entity view of a computation instance: `this.log` inside its process() is tagged with
 * the entity. Cheaper than runWithLogContext on the hot path: AsyncLocalStorage turns on
 * async hooks, which tax every promise of the process (measured in bench/).
 */
export function forEntity<T extends Computation>(instance: T, ctx: LogContext): T {
  const view = Object.create(instance) as T;
  (view as unknown as Record<symbol, LogContext>)[ENTITY_LOG] = ctx;
  return view;
}

/** Base class of every computation (same contract as the seed's computation-system-v2). */
export abstract class Computation {
  /**
   * Subclasses override this with a static returning their plain config object.
   * @public overridden by every computation (loaded by path) and called through ComputationClass
   */
  static getConfig(): unknown {
    throw new Error('Computation subclasses must define static getConfig()');
  }

  /** Returns this entity's result; null saves nothing. */
  abstract process(ctx: ComputationContext): Promise<unknown>;

  protected log(level: LogLevel, message: string): void {
    const ctx =
      (this as unknown as Record<symbol, LogContext | undefined>)[ENTITY_LOG] ??
      logContext.getStore();
    if (ctx) {
      ctx.sink({ level, computation: ctx.computation, entityId: ctx.entityId, message });
      return;
    }
    process.stderr.write(`[${computationDisplayName(this.constructor)}] ${message}\n`);
  }
}

function computationDisplayName(ctor: unknown): string {
  try {
    const config = (ctor as { getConfig(): unknown }).getConfig() as { name?: unknown } | null;
    if (config && typeof config.name === 'string') return config.name;
  } catch {
    // a broken getConfig must not break logging
  }
  return (ctor as { name?: string }).name || 'Computation';
}

export type ComputationClass = (new () => Computation) & { getConfig(): unknown };

/**
 * True for a Computation subclass, or a class shaped like one (a computation file may import
 * the kernel through another module instance, where instanceof fails).
 */
export function isComputationClass(x: unknown): x is ComputationClass {
  if (typeof x !== 'function') return false;
  const proto = (x as { prototype?: unknown }).prototype;
  if (proto instanceof Computation) return true;
  return (
    typeof (x as { getConfig?: unknown }).getConfig === 'function' &&
    typeof proto === 'object' &&
    proto !== null &&
    typeof (proto as { process?: unknown }).process === 'function'
  );
}
