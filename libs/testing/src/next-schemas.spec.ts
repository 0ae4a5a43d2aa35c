import {
  eventSchemas,
  type PayloadOf,
  resultVersionOf,
  SchemaVersionTooNewError,
} from '@almanac/contracts';
import { readEventLogV1 } from './event-log-v1';
import {
  BatchRequestedV2Payload,
  ComputationCompletedV2Payload,
  nextSchemas,
} from './next-schemas';

const log = readEventLogV1();

describe('the v1 fixture log under the next schemas', () => {
  it('is a log of today: 236 events, every one at schemaVersion 1 and valid as written', () => {
    expect(log).toHaveLength(236);
    expect(new Set(log.map((e) => e.schemaVersion))).toEqual(new Set([1]));
    // parsing keeps every field as written; fields added since with a default (e.g.
    // RunRequested.forceUpstream) are filled in
    for (const e of log) expect(eventSchemas.parse(e)).toMatchObject(e);
  });

  it('upcasts ComputationCompleted and BatchRequested to what v2 expects, and nothing else', () => {
    const read = log.map((e) => nextSchemas.parse(e));
    const completed = read.filter((e) => e.type === 'ComputationCompleted');
    const batches = read.filter((e) => e.type === 'BatchRequested');
    expect([completed.length, batches.length]).toEqual([38, 51]);
    read.forEach((e, i) => {
      const v1 = log[i];
      if (e.type === 'ComputationCompleted') {
        expect(e.schemaVersion).toBe(2);
        expect(ComputationCompletedV2Payload.parse(e.payload)).toEqual(e.payload);
        expect(e.payload).toEqual({
          ...(v1.payload as object),
          resultVersion: resultVersionOf(v1.payload as PayloadOf<'ComputationCompleted'>),
        });
      } else if (e.type === 'BatchRequested') {
        expect(e.schemaVersion).toBe(2);
        expect(BatchRequestedV2Payload.parse(e.payload)).toEqual(e.payload);
        expect(e.payload).toEqual(v1.payload); // today's BatchRequested always names it
      } else {
        expect(e).toEqual(eventSchemas.parse(v1)); // only today's defaults added
      }
      expect({ ...e, schemaVersion: 1, payload: v1.payload }).toEqual(v1); // the envelope is kept
    });
  });

  it('fills what v1 left to readers: an event recorded before results were versioned', () => {
    const completed = log.find(
      (e) =>
        e.type === 'ComputationCompleted' &&
        (e.payload as { status: string }).status === 'completed',
    )!;
    const { resultVersion: _c, ...legacy } = completed.payload as PayloadOf<'ComputationCompleted'>;
    expect(nextSchemas.parse({ ...completed, payload: legacy }).payload).toMatchObject({
      resultVersion: legacy.runId,
    });
    const batch = log.find((e) => e.type === 'BatchRequested')!;
    const { resultVersion: _b, ...oldBatch } = batch.payload as PayloadOf<'BatchRequested'>;
    expect(nextSchemas.parse({ ...batch, payload: oldBatch }).payload).toMatchObject({
      resultVersion: oldBatch.runId,
    });
  });

  it("is refused by today's code once written at v2 (the rolling-deploy hazard)", () => {
    const v2 = nextSchemas.parse(log.find((e) => e.type === 'ComputationCompleted')!);
    expect(() => eventSchemas.parse(v2)).toThrow(SchemaVersionTooNewError);
    expect(() => eventSchemas.fromLog(v2)).toThrow(
      /^ComputationCompleted: schemaVersion 2 is newer than this code knows \(1\)/,
    );
  });
});
