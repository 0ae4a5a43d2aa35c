import {
  type Envelope,
  type EventSchemas,
  makeEvent,
  type PayloadOf,
  type RawEnvelope,
  resultVersionOf,
  SchemaVersionTooNewError,
} from '@almanac/contracts';
import {
  CheckpointedProjections,
  type CheckpointStore,
  decisionProjection,
  type DecisionsView,
  type HashIndex,
  hashIndexProjection,
  type LogReader,
  runProjection,
  type RunsView,
} from '@almanac/domain/projections';
import {
  appendEventLogV1,
  BatchRequestedV2Payload,
  ComputationCompletedV2Payload,
  nextSchemas,
  v1Writer,
} from '@almanac/testing';
import type { EventStore, StoredEvent } from '../event-store.port';

type Views = { runs: RunsView; decisions: DecisionsView; hashIndex: HashIndex };
const projections = {
  runs: runProjection,
  decisions: decisionProjection,
  hashIndex: hashIndexProjection,
};

interface UpcastingBackend {
  /** a store over this backend's one log, validating and upcasting with `schemas` (default: the contracts' own) */
  open(schemas?: EventSchemas): EventStore;
  checkpoints: CheckpointStore;
  /** every stored event as the adapter keeps it (its columns, as text), in log order */
  rows(): Promise<string[]>;
  cleanup(): Promise<void>;
}

/** The envelope without the log's bookkeeping. */
const envelopeOf = (e: StoredEvent): RawEnvelope => {
  const { streamVersion: _v, position: _p, recordedAt: _r, ...envelope } = e;
  return envelope;
};

/** The store's reader, counting the events it returns. */
class CountingLog implements LogReader {
  events = 0;
  constructor(private readonly store: EventStore) {}
  async readAll(opts?: { after?: string; limit?: number }) {
    const page = await this.store.readAll(opts);
    this.events += page.length;
    return page;
  }
}

/**
 * The v1 fixture log (test/fixtures/event-log-v1) in a real store of one adapter, read by code one
 * schema version on (`nextSchemas` of libs/testing), as one Jest `describe` block (ADR 0011). The
 * factory is called once per test and returns an empty log and checkpoint store.
 */
export function upcastingScenarios(name: string, factory: () => Promise<UpcastingBackend>): void {
  describe(`upcasting on read: ${name}`, () => {
    let backend: UpcastingBackend;
    let log: RawEnvelope[];
    const opened: EventStore[] = [];
    const open = (schemas?: EventSchemas) => {
      const store = backend.open(schemas);
      opened.push(store);
      return store;
    };

    beforeEach(async () => {
      backend = await factory();
      // the old deployment writes its log
      log = await appendEventLogV1(open(v1Writer));
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
      await backend.cleanup();
    });

    it('reads the v1 log at the versions the code knows on every read path, and never rewrites it', async () => {
      const before = await backend.rows();
      expect(before).toHaveLength(236);
      const store = open(nextSchemas);

      const all = await store.readAll();
      // an event at the current version comes back as stored (fields added since with a default
      // stay absent: they were validated when appended); an older one is upcast and validated
      expect(all.map(envelopeOf)).toEqual(
        log.map((e) =>
          e.schemaVersion === nextSchemas.versionOf(e.type) ? e : nextSchemas.parse(e),
        ),
      );
      const completed = all.filter((e) => e.type === 'ComputationCompleted');
      const batches = all.filter((e) => e.type === 'BatchRequested');
      expect([completed.length, batches.length]).toEqual([38, 51]);
      for (const e of completed) {
        expect(e.schemaVersion).toBe(2);
        expect(ComputationCompletedV2Payload.parse(e.payload)).toEqual(e.payload);
        const v1 = log.find((x) => x.eventId === e.eventId)!.payload;
        expect(e.payload.resultVersion).toBe(
          resultVersionOf(v1 as PayloadOf<'ComputationCompleted'>),
        );
      }
      for (const e of batches) {
        expect(e.schemaVersion).toBe(2);
        expect(BatchRequestedV2Payload.parse(e.payload)).toEqual(e.payload);
      }
      expect(all.filter((e) => e.schemaVersion === 1)).toHaveLength(236 - 38 - 51);

      // the same events on the other read paths
      const paged: StoredEvent[] = [];
      for (let page = await store.readAll({ limit: 50 }); page.length > 0;) {
        paged.push(...page);
        page = await store.readAll({ after: page.at(-1)!.position, limit: 50 });
      }
      expect(paged).toEqual(all);
      const run = all.find((e) => e.type === 'ComputationCompleted')!.correlationId;
      expect(await store.readStreamsByPrefix(`run-${run}`)).toEqual(
        all.filter((e) => e.streamId.startsWith(`run-${run}`)),
      );
      for (const streamId of new Set(all.map((e) => e.streamId))) {
        expect(await store.readStream(streamId)).toEqual(
          all.filter((e) => e.streamId === streamId),
        );
      }
      // an append of an event already in the log reports the stored one, upcast like a read
      const again = await store.append(completed[0].streamId, [
        log.find((e) => e.eventId === completed[0].eventId) as Envelope,
      ]);
      expect(again.results).toEqual([{ event: completed[0], duplicate: true }]);

      expect(await backend.rows()).toEqual(before);
    });

    it("folds today's projections from the upcast log into the views today's code folds: verify is equal, a v1 checkpoint is folded again", async () => {
      const today = new CheckpointedProjections<Views>(open(), projections, backend.checkpoints);
      await today.catchUp(); // saves a checkpoint of today's code
      const before = await backend.rows();

      const reader = new CountingLog(open(nextSchemas));
      const next = new CheckpointedProjections<Views>(reader, projections, backend.checkpoints, {
        schemas: nextSchemas,
      });
      expect(next.fingerprint).not.toBe(today.fingerprint);
      await next.catchUp();
      // its checkpoint was of other schema versions: folded from the first event, not resumed
      expect(reader.events).toBe(236);
      expect(next.views).toEqual(today.views);
      expect(Object.keys(next.views.runs)).toHaveLength(9);
      expect(await next.verify()).toEqual({
        equal: true,
        position: next.position,
        events: 236,
        differences: [],
      });
      expect((await backend.checkpoints.load('views'))!.fingerprint).toBe(next.fingerprint);
      expect(await backend.rows()).toEqual(before);
    });

    it("refuses an event newer than the code, naming the type and both versions (today's code reading what the next one wrote)", async () => {
      const v1 = log.find((e) => e.type === 'ComputationCompleted')!;
      const written = makeEvent({
        ...(v1 as Envelope<'ComputationCompleted'>),
        eventId: 'ComputationCompleted:next',
        streamId: 'run-next',
      });
      await open(nextSchemas).append('run-next', [written]);
      const today = open();
      const message =
        /^ComputationCompleted: schemaVersion 2 is newer than this code knows \(1\).*rolling deploy/;
      await expect(today.readAll()).rejects.toThrow(SchemaVersionTooNewError);
      await expect(today.readAll()).rejects.toThrow(message);
      await expect(today.readStream('run-next')).rejects.toThrow(message);
      await expect(today.readStreamsByPrefix('run-n')).rejects.toThrow(message);
      // everything before it still reads
      expect(await today.readAll({ limit: 236 })).toHaveLength(236);
    });
  });
}
