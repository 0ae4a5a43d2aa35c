import {
  eventIds,
  EVENT_TYPES,
  exportJsonSchemas,
  InvalidEventError,
  makeEvent,
  parseEnvelope,
  topicFor,
  topics,
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

  it('records a results export and a failed attempt, refusing a negative row count', () => {
    const target = {
      runId: 'r1',
      date: '2026-01-15',
      computation: 'A',
      version: 'r1/1',
      table: 'p.d.t',
    };
    const exported = makeEvent({
      ...base,
      eventId: 'ResultsExported:A:2026-01-15:r1/1',
      type: 'ResultsExported',
      payload: { ...target, rows: 3, durationMs: 12 },
    });
    expect(exported.payload).toEqual({ ...target, rows: 3, durationMs: 12 });
    expect(topicFor('ResultsExported')).toBe(topics.computations);
    expect(topicFor('ResultsExportFailed')).toBe(topics.computations);
    expect(eventIds.resultsExported('A', '2026-01-15', 'r1/1')).toBe(exported.eventId);
    expect(() =>
      makeEvent({
        ...base,
        type: 'ResultsExported',
        payload: { ...target, rows: -1, durationMs: 12 },
      }),
    ).toThrow(/ResultsExported payload invalid: rows/);
    expect(() =>
      makeEvent({
        ...base,
        type: 'ResultsExportFailed',
        payload: { ...target, attempt: 0, error: 'x', retryable: true },
      }),
    ).toThrow(/ResultsExportFailed payload invalid: attempt/);
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
