import { z } from 'zod';
import {
  createEventSchemas,
  eventSchemas,
  EventCatalog,
  EVENT_TYPES,
  InvalidEventError,
  parseEnvelope,
  type RawEnvelope,
  SchemaVersionTooNewError,
  type Upcaster,
  UpcasterRegistryError,
} from './index';

// A catalog built for these tests: one type, "Greeted", whose shape changed twice.
//   v1 { name }            v2 { name, language }   (v1 greetings were all in English)
//   v3 { who: { name }, language }
const GreetedV3 = z.object({
  who: z.object({ name: z.string().min(1) }),
  language: z.enum(['en', 'fr']),
});
const catalog = { Greeted: { schemaVersion: 3, payload: GreetedV3 } };

const calls: string[] = [];
const v1to2: Upcaster = (e) => {
  calls.push(`1->2 ${e.eventId}`);
  return { ...e, payload: { ...(e.payload as object), language: 'en' } };
};
const v2to3: Upcaster = (e) => {
  calls.push(`2->3 ${e.eventId}`);
  const { name, ...rest } = e.payload as { name: string; language: string };
  return { ...e, payload: { ...rest, who: { name } } };
};
const schemas = createEventSchemas({ catalog, upcasters: { Greeted: { 1: v1to2, 2: v2to3 } } });

const greeted = (schemaVersion: number, payload: unknown): RawEnvelope => ({
  eventId: `Greeted:${schemaVersion}`,
  type: 'Greeted',
  schemaVersion,
  streamId: 'greetings',
  occurredAt: '2026-01-15T00:00:00.000Z',
  correlationId: 'c1',
  causationId: null,
  producer: 'test',
  payload,
  metadata: {},
});

beforeEach(() => (calls.length = 0));

describe('upcasting: parse (a bus message, an append)', () => {
  it('applies each step in order from the stored version to the current one, then validates', () => {
    const v1 = greeted(1, { name: 'Ada' });
    const event = schemas.parse(v1);
    expect(event).toEqual({
      ...v1,
      schemaVersion: 3,
      payload: { who: { name: 'Ada' }, language: 'en' },
    });
    expect(calls).toEqual(['1->2 Greeted:1', '2->3 Greeted:1']);
    // the input is never changed: the log keeps what was written
    expect(v1).toEqual(greeted(1, { name: 'Ada' }));
  });

  it('starts the chain at the version the event has, and runs none at the current one', () => {
    expect(schemas.parse(greeted(2, { name: 'Ada', language: 'fr' })).payload).toEqual({
      who: { name: 'Ada' },
      language: 'fr',
    });
    expect(calls).toEqual(['2->3 Greeted:2']);
    calls.length = 0;
    schemas.parse(greeted(3, { who: { name: 'Ada' }, language: 'fr' }));
    expect(calls).toEqual([]);
  });

  it('validates what the chain produced against the current schema, naming the versions', () => {
    expect(() => schemas.parse(greeted(1, { name: '' }))).toThrow(
      'Greeted payload invalid after upcasting from v1 to v3: who.name: Too small',
    );
    expect(() => schemas.parse(greeted(1, { name: '' }))).toThrow(InvalidEventError);
  });

  it('refuses a version newer than the code knows, naming the type, both versions and the rolling deploy', () => {
    const newer = () => schemas.parse(greeted(4, { anything: true }));
    expect(newer).toThrow(SchemaVersionTooNewError);
    expect(newer).toThrow(/^Greeted: schemaVersion 4 is newer than this code knows \(3\)/);
    expect(newer).toThrow(/rolling deploy/);
    try {
      newer();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidEventError);
      expect(e).toMatchObject({
        code: 'schema-version-too-new',
        retryable: true,
        eventType: 'Greeted',
        version: 4,
        known: 3,
      });
    }
  });

  it('names the step when an upcaster throws or changes the event identity', () => {
    const failing = createEventSchemas({
      catalog: { Greeted: { schemaVersion: 2, payload: z.object({ name: z.string() }) } },
      upcasters: {
        Greeted: {
          1: () => {
            throw new Error('boom');
          },
        },
      },
    });
    expect(() => failing.parse(greeted(1, { name: 'Ada' }))).toThrow(
      'Greeted: the upcaster from v1 to v2 failed on "Greeted:1": boom',
    );
    const renaming = createEventSchemas({
      catalog: { Greeted: { schemaVersion: 2, payload: z.object({ name: z.string() }) } },
      upcasters: { Greeted: { 1: (e) => ({ ...e, eventId: 'other' }) } },
    });
    expect(() => renaming.parse(greeted(1, { name: 'Ada' }))).toThrow(
      'Greeted: the upcaster from v1 to v2 changed the identity of "Greeted:1" (eventId, type and streamId must stay)',
    );
  });
});

describe('upcasting: fromLog (an event read back from the log)', () => {
  it('returns an event at the current version as stored, without validating it again', () => {
    const stored = greeted(3, { who: { name: 'Ada' }, language: 'fr' });
    expect(schemas.fromLog(stored)).toBe(stored);
  });

  it('upcasts and validates an older one, exactly as parse does', () => {
    const stored = greeted(1, { name: 'Ada' });
    expect(schemas.fromLog(stored)).toEqual(schemas.parse(stored));
    expect(stored.schemaVersion).toBe(1);
  });

  it('refuses a newer one, and returns a type it does not know as stored (a newer deployment added it)', () => {
    expect(() => schemas.fromLog(greeted(4, {}))).toThrow(SchemaVersionTooNewError);
    const unknown = { ...greeted(7, {}), type: 'Waved' };
    expect(schemas.fromLog(unknown)).toBe(unknown);
    expect(() => schemas.parse(unknown)).toThrow('unknown event type "Waved"');
  });
});

describe('upcaster registry', () => {
  it('is checked when the schemas are built: every step present, none for what the catalog lacks', () => {
    const build = (upcasters: Record<string, Record<number, Upcaster>>) => () =>
      createEventSchemas({ catalog, upcasters });
    expect(build({ Greeted: { 1: v1to2 } })).toThrow(UpcasterRegistryError);
    expect(build({ Greeted: { 1: v1to2 } })).toThrow('Greeted: no upcaster from v2 to v3');
    expect(build({ Greeted: { 1: v1to2, 2: v2to3, 3: v2to3 } })).toThrow(
      'Greeted: an upcaster from v3, but the current version is 3',
    );
    expect(build({ Greeted: { 1: v1to2, 2: v2to3 }, Waved: { 1: v1to2 } })).toThrow(
      'Waved: upcasters for a type the catalog does not have',
    );
  });

  it('is complete for the real catalog, and parseEnvelope and makeEvent use it', () => {
    for (const type of EVENT_TYPES) {
      expect(eventSchemas.versionOf(type)).toBe(EventCatalog[type].schemaVersion);
    }
    expect(eventSchemas.versionOf('Nope')).toBeUndefined();
    expect(() =>
      parseEnvelope({
        ...greeted(2, { runId: 'r1', date: '2026-01-15' }),
        type: 'RunRequested',
      }),
    ).toThrow(/^RunRequested: schemaVersion 2 is newer than this code knows \(1\)/);
  });
});
