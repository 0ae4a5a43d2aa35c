import type { z } from 'zod';
import { EnvelopeBase } from './envelope';
import {
  EventCatalog,
  InvalidEventError,
  type Envelope,
  type EventType,
  type PayloadInput,
} from './catalog';
import { upcasters } from './upcasters';

/** An envelope at some schema version, its payload not validated yet. */
export type RawEnvelope = EnvelopeBase;

/**
 * One step of an event type's history: the event at version n -> the same event at n + 1 (its
 * payload, and other envelope fields if needed). It returns a new envelope and keeps the event's
 * identity (eventId, type, streamId); the chain sets `schemaVersion`.
 */
export type Upcaster = (event: RawEnvelope) => RawEnvelope;

/** event type -> version n -> the step from n to n + 1 */
export type UpcasterRegistry = Readonly<Record<string, Readonly<Record<number, Upcaster>>>>;

/** What the schemas need of a catalog: each type's current version and payload schema. */
type SchemaCatalog = Readonly<
  Record<string, { readonly schemaVersion: number; readonly payload: z.ZodType }>
>;

/** How this code reads envelopes: the catalog's versions, and the upcasters up to them. */
export interface EventSchemas {
  /** the current version of a type; undefined for a type this code does not know */
  versionOf(type: string): number | undefined;
  /**
   * An envelope from outside (a bus message, an append): an older version is upcast step by step
   * to the current one, then the envelope and its payload are validated. Throws
   * InvalidEventError; SchemaVersionTooNewError for a version newer than this code knows.
   */
  parse(input: unknown): Envelope;
  /**
   * An event read back from the log. At the current version it is returned as stored (it was
   * validated when appended); an older one goes through `parse`; a newer one throws
   * SchemaVersionTooNewError. A type this code does not know is returned as stored: a newer
   * deployment's new event, which readers skip (each projection lists the types it handles).
   */
  fromLog(stored: RawEnvelope): Envelope;
}

/**
 * An event of a version newer than the code reading it: a newer deployment wrote it. Retrying
 * succeeds once a reader that knows the version handles it.
 */
export class SchemaVersionTooNewError extends InvalidEventError {
  override readonly code = 'schema-version-too-new';
  readonly retryable = true;
  constructor(
    readonly eventType: string,
    readonly version: number,
    readonly known: number,
  ) {
    super(
      `${eventType}: schemaVersion ${version} is newer than this code knows (${known}). ` +
        `A newer release wrote it: in a rolling deploy, every reader must run code that knows ` +
        `v${version} before any writer emits it. Finish the rollout, or roll the writers back.`,
      [],
    );
    this.name = 'SchemaVersionTooNewError';
  }
}

/** The upcaster registry does not fit the catalog: a step is missing, or one has no use. */
export class UpcasterRegistryError extends Error {
  readonly code = 'upcaster-registry-invalid';
  constructor(readonly problems: string[]) {
    super(`upcaster registry: ${problems.join('; ')}`);
    this.name = 'UpcasterRegistryError';
  }
}

function formatIssues(issues: z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

function checkRegistry(catalog: SchemaCatalog, registry: UpcasterRegistry): void {
  const problems: string[] = [];
  for (const [type, steps] of Object.entries(registry)) {
    if (!Object.hasOwn(catalog, type)) {
      problems.push(`${type}: upcasters for a type the catalog does not have`);
      continue;
    }
    for (const from of Object.keys(steps).map(Number)) {
      if (from >= catalog[type].schemaVersion)
        problems.push(
          `${type}: an upcaster from v${from}, but the current version is ${catalog[type].schemaVersion}`,
        );
    }
  }
  for (const [type, entry] of Object.entries(catalog)) {
    for (let v = 1; v < entry.schemaVersion; v++) {
      if (!registry[type]?.[v]) problems.push(`${type}: no upcaster from v${v} to v${v + 1}`);
    }
  }
  if (problems.length > 0) throw new UpcasterRegistryError(problems);
}

/**
 * The one way envelopes are read, for the bus consumers (`parse`) and the event stores' read
 * paths (`fromLog`): older versions are upcast in memory, the log is never rewritten. The catalog
 * and registry are arguments so that tests can build the next version; the code uses
 * `eventSchemas`.
 */
export function createEventSchemas(opts: {
  catalog: SchemaCatalog;
  upcasters: UpcasterRegistry;
}): EventSchemas {
  const { catalog, upcasters: registry } = opts;
  checkRegistry(catalog, registry);
  const entryOf = (type: string) => (Object.hasOwn(catalog, type) ? catalog[type] : undefined);

  function upcast(event: RawEnvelope, to: number): RawEnvelope {
    const { type, eventId, streamId } = event;
    // a copy: a step may build on its input, and the caller's object is what was stored
    let current = structuredClone(event);
    for (let v = event.schemaVersion; v < to; v++) {
      let next: RawEnvelope;
      try {
        next = registry[type][v](current);
      } catch (e) {
        throw new InvalidEventError(
          `${type}: the upcaster from v${v} to v${v + 1} failed on "${eventId}": ${e instanceof Error ? e.message : String(e)}`,
          [],
        );
      }
      if (next.eventId !== eventId || next.type !== type || next.streamId !== streamId) {
        throw new InvalidEventError(
          `${type}: the upcaster from v${v} to v${v + 1} changed the identity of "${eventId}" (eventId, type and streamId must stay)`,
          [],
        );
      }
      current = { ...next, schemaVersion: v + 1 };
    }
    return current;
  }

  function parse(input: unknown): Envelope {
    const base = EnvelopeBase.safeParse(input);
    if (!base.success) {
      throw new InvalidEventError(
        `invalid envelope: ${formatIssues(base.error.issues)}`,
        base.error.issues,
      );
    }
    const { type, schemaVersion } = base.data;
    const entry = entryOf(type);
    if (!entry) throw new InvalidEventError(`unknown event type "${type}"`, []);
    if (schemaVersion > entry.schemaVersion) {
      throw new SchemaVersionTooNewError(type, schemaVersion, entry.schemaVersion);
    }
    let event = base.data;
    if (schemaVersion < entry.schemaVersion) {
      const upcasted = EnvelopeBase.safeParse(upcast(base.data, entry.schemaVersion));
      if (!upcasted.success) {
        throw new InvalidEventError(
          `${type} envelope invalid after upcasting from v${schemaVersion} to v${entry.schemaVersion}: ${formatIssues(upcasted.error.issues)}`,
          upcasted.error.issues,
        );
      }
      event = upcasted.data;
    }
    const payload = entry.payload.safeParse(event.payload);
    if (!payload.success) {
      const upcastFrom =
        schemaVersion < entry.schemaVersion
          ? ` after upcasting from v${schemaVersion} to v${entry.schemaVersion}`
          : '';
      throw new InvalidEventError(
        `${type} payload invalid${upcastFrom}: ${formatIssues(payload.error.issues)}`,
        payload.error.issues,
      );
    }
    return { ...event, payload: payload.data } as Envelope;
  }

  return {
    versionOf: (type) => entryOf(type)?.schemaVersion,
    parse,
    fromLog(stored) {
      const entry = entryOf(stored.type);
      if (!entry || stored.schemaVersion === entry.schemaVersion) return stored as Envelope;
      return parse(stored);
    },
  };
}

/** This code's schemas: EventCatalog and the upcasters of ./upcasters. */
export const eventSchemas = createEventSchemas({ catalog: EventCatalog, upcasters });

/** Validates an envelope and its payload (upcast first if older); throws InvalidEventError. */
export function parseEnvelope(input: unknown): Envelope {
  return eventSchemas.parse(input);
}

export interface EventInit<T extends EventType> {
  type: T;
  eventId: string;
  streamId: string;
  correlationId: string;
  causationId: string | null;
  producer: string;
  occurredAt: string;
  payload: PayloadInput<T>;
  metadata?: Record<string, string>;
}

/** Builds a validated envelope. Domain code passes `occurredAt` in; it never reads the clock. */
export function makeEvent<T extends EventType>(init: EventInit<T>): Envelope<T> {
  return parseEnvelope({
    ...init,
    schemaVersion: EventCatalog[init.type].schemaVersion,
    metadata: init.metadata ?? {},
  }) as Envelope<T>;
}
