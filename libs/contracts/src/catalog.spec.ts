import {
  EVENT_TYPES,
  exportJsonSchemas,
  InvalidEventError,
  makeEvent,
  parseEnvelope,
} from './index';

const base = {
  eventId: 'RunRequested:r1',
  streamId: 'run-r1',
  correlationId: 'r1',
  causationId: null,
  producer: 'test',
  occurredAt: '2026-01-15T00:00:00.000Z',
};

describe('event catalog', () => {
  it('builds a valid event and fills payload defaults', () => {
    const e = makeEvent({
      ...base,
      type: 'RunRequested',
      payload: { runId: 'r1', date: '2026-01-15' },
    });
    expect(e.schemaVersion).toBe(1);
    expect(e.payload).toMatchObject({ targets: [], force: false, dryRun: false });
  });

  it('rejects a bad payload with the zod issues, naming the field', () => {
    expect(() =>
      makeEvent({ ...base, type: 'RunRequested', payload: { runId: 'r1', date: '2026-02-30' } }),
    ).toThrow(/RunRequested payload invalid: date: not a calendar date/);
    try {
      parseEnvelope({ ...base, type: 'PassReady', schemaVersion: 1, payload: { runId: 'r1' } });
      fail('expected an error');
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidEventError);
      expect((e as InvalidEventError).issues.map((i) => i.path.join('.'))).toEqual(
        expect.arrayContaining(['date', 'pass', 'computations']),
      );
    }
  });

  it('rejects an unknown type and an unknown schema version', () => {
    expect(() => parseEnvelope({ ...base, type: 'Nope', schemaVersion: 1, payload: {} })).toThrow(
      /unknown event type "Nope"/,
    );
    expect(() =>
      parseEnvelope({
        ...base,
        type: 'RunRequested',
        schemaVersion: 9,
        payload: { runId: 'r1', date: '2026-01-15' },
      }),
    ).toThrow(/^RunRequested: schemaVersion 9 is newer than this code knows \(1\)/);
  });

  it('exports a JSON Schema for every event type', () => {
    const schemas = exportJsonSchemas() as Record<string, { properties: Record<string, unknown> }>;
    expect(Object.keys(schemas).sort()).toEqual([...EVENT_TYPES].sort());
    expect(schemas.BatchDone.properties.payload).toBeDefined();
    expect(schemas.BatchDone.properties.type).toEqual(
      expect.objectContaining({ const: 'BatchDone' }),
    );
  });
});
