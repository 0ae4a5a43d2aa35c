import { type Envelope, InvalidEventError, makeEvent } from '@almanac/contracts';
import {
  EventStoreClosedError,
  InvalidLimitError,
  InvalidPositionError,
  InvalidPrefixError,
} from '../event-store.errors';
import { type EventStore, type StoredEvent, WrongExpectedVersionError } from '../event-store.port';

export interface EventStoreFixture {
  store: EventStore;
  cleanup: () => Promise<void>;
}

/**
 * The behaviour every EventStore adapter must have, as one Jest `describe` block. Run it unchanged
 * against each adapter: `eventStoreConformance('sqlite', async () => ({ store, cleanup }))`.
 * The factory is called once per test and must return an empty store.
 */
export function eventStoreConformance(
  name: string,
  factory: () => Promise<EventStoreFixture>,
): void {
  describe(`EventStore conformance: ${name}`, () => {
    let fixture: EventStoreFixture;
    let store: EventStore;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    const event = (eventId: string, streamId: string, pass = 0): Envelope =>
      makeEvent({
        type: 'PassReady',
        eventId,
        streamId,
        correlationId: 'r1',
        causationId: null,
        producer: 'conformance',
        occurredAt: '2026-01-15T02:00:00.000Z',
        payload: { runId: 'r1', date: '2026-01-15', pass, computations: [`C${pass}`] },
      });
    const ids = (events: StoredEvent[]) => events.map((e) => e.eventId);
    const versions = (events: StoredEvent[]) => events.map((e) => e.streamVersion);
    const expectRejection = async (call: Promise<unknown>) => {
      try {
        await call;
      } catch (e) {
        return e;
      }
      throw new Error('expected the call to be rejected');
    };

    it('appends to a new stream (expectedVersion 0) with versions 1..n and reads them back exactly', async () => {
      const input = [event('e1', 's'), event('e2', 's', 1), event('e3', 's', 2)];
      const result = await store.append('s', input, { expectedVersion: 0 });

      expect(result.streamVersion).toBe(3);
      expect(result.results.map((r) => r.duplicate)).toEqual([false, false, false]);
      expect(versions(result.results.map((r) => r.event))).toEqual([1, 2, 3]);
      result.results.forEach((r, i) =>
        expect(r.event).toEqual({
          ...input[i],
          streamVersion: i + 1,
          position: expect.any(String),
          recordedAt: expect.any(String),
        }),
      );
      expect(Number.isNaN(Date.parse(result.results[0].event.recordedAt))).toBe(false);
      expect(new Set(result.results.map((r) => r.event.position)).size).toBe(3);

      const read = await store.readStream('s');
      expect(read).toEqual(result.results.map((r) => r.event));
      expect(await store.streamVersion('s')).toBe(3);

      const next = await store.append('s', [event('e4', 's', 3)], { expectedVersion: 3 });
      expect(next.streamVersion).toBe(4);
      expect(versions(await store.readStream('s'))).toEqual([1, 2, 3, 4]);
    });

    it('round-trips a rich payload and metadata exactly', async () => {
      const input = makeEvent({
        type: 'ComputationCompleted',
        eventId: 'ComputationCompleted:r1:A',
        streamId: 'run-r1-A',
        correlationId: 'r1',
        causationId: 'PassReady:r1:0',
        producer: 'executor',
        occurredAt: '2026-01-15T02:03:04.567+02:00',
        metadata: { traceId: 't-1', now: '2026-01-15T00:03:04.567Z', owner: 'exécuteur ✓' },
        payload: {
          runId: 'r1',
          date: '2026-01-15',
          computation: 'A',
          pass: 0,
          status: 'failed',
          reason: { code: 'entity-failures', failed: 2, total: 3 },
          compositeHash: 'abc',
          hashParts: {
            code: 'c',
            epoch: 'v1',
            inputs: { orders: 'n=3;s=12' },
            dependencies: { B: null, C: 'h' },
            previous: null,
            scope: null,
          },
          resultHash: null,
          entities: { total: 3, succeeded: 1, failed: 2, saved: 1 },
          failedEntities: [
            { entityId: 'u1', message: 'line\nbreak "quoted" \u0000 nul' },
            { entityId: 'u2', message: '日本語' },
          ],
          scoped: false,
          dryRun: false,
          forced: true,
          durationMs: 12.375,
        },
      });
      await store.append('run-r1-A', [input]);
      const [stored] = await store.readStream('run-r1-A');
      expect(stored).toEqual({
        ...input,
        streamVersion: 1,
        position: expect.any(String),
        recordedAt: expect.any(String),
      });
      const [fromAll] = await store.readAll();
      expect(fromAll).toEqual(stored);
    });

    it('rejects a wrong expected version with expected/actual and appends nothing', async () => {
      await store.append('s', [event('e1', 's'), event('e2', 's')], { expectedVersion: 0 });

      const stale = await expectRejection(
        store.append('s', [event('e3', 's')], { expectedVersion: 1 }),
      );
      expect(stale).toBeInstanceOf(WrongExpectedVersionError);
      expect(stale).toMatchObject({
        code: 'wrong-expected-version',
        streamId: 's',
        expected: 1,
        actual: 2,
      });
      expect((stale as Error).message).toContain('stream "s": expected version 1, found 2');

      const notNew = await expectRejection(
        store.append('s', [event('e3', 's')], { expectedVersion: 0 }),
      );
      expect(notNew).toMatchObject({ expected: 0, actual: 2 });

      const ahead = await expectRejection(
        store.append('t', [event('t1', 't')], { expectedVersion: 5 }),
      );
      expect(ahead).toMatchObject({ streamId: 't', expected: 5, actual: 0 });

      expect(ids(await store.readStream('s'))).toEqual(['e1', 'e2']);
      expect(await store.readStream('t')).toEqual([]);
      expect(ids(await store.readAll())).toEqual(['e1', 'e2']);
    });

    it("appends at any version with 'any' or without an expected version", async () => {
      await store.append('s', [event('e1', 's')], { expectedVersion: 'any' });
      await store.append('s', [event('e2', 's')], { expectedVersion: 'any' });
      const r = await store.append('s', [event('e3', 's')]);
      expect(r.streamVersion).toBe(3);
      expect(versions(await store.readStream('s'))).toEqual([1, 2, 3]);
    });

    it('treats a known event id in the same stream as a no-op reporting the stored event, even with a stale expectedVersion', async () => {
      const first = await store.append('s', [event('e1', 's')], { expectedVersion: 0 });
      await store.append('s', [event('e2', 's', 1)], { expectedVersion: 1 });

      const retry = await store.append('s', [event('e1', 's')], { expectedVersion: 0 });
      expect(retry.results).toEqual([{ event: first.results[0].event, duplicate: true }]);
      expect(retry.streamVersion).toBe(2);
      expect(ids(await store.readAll())).toEqual(['e1', 'e2']);
    });

    it('treats an event id already recorded in another stream as a duplicate of that event', async () => {
      const first = await store.append('a', [event('shared', 'a')]);
      const other = await store.append('b', [event('shared', 'b')], { expectedVersion: 0 });
      expect(other.results).toEqual([{ event: first.results[0].event, duplicate: true }]);
      expect(other.results[0].event.streamId).toBe('a');
      expect(other.streamVersion).toBe(0);
      expect(await store.streamVersion('b')).toBe(0);
      expect(await store.readStream('b')).toEqual([]);
      expect(ids(await store.readAll())).toEqual(['shared']);
    });

    it('appends the new events of a batch that mixes a duplicate and a new event', async () => {
      const first = await store.append('s', [event('e1', 's')]);
      const mixed = await store.append('s', [event('e1', 's'), event('e2', 's', 1)], {
        expectedVersion: 1,
      });
      expect(mixed.streamVersion).toBe(2);
      expect(
        mixed.results.map((r) => [r.event.eventId, r.duplicate, r.event.streamVersion]),
      ).toEqual([
        ['e1', true, 1],
        ['e2', false, 2],
      ]);
      expect(mixed.results[0].event).toEqual(first.results[0].event);

      // with new events in the call, the expected version is checked
      const stale = await expectRejection(
        store.append('s', [event('e2', 's', 1), event('e3', 's', 2)], { expectedVersion: 1 }),
      );
      expect(stale).toMatchObject({ code: 'wrong-expected-version', expected: 1, actual: 2 });
      expect(ids(await store.readAll())).toEqual(['e1', 'e2']);
    });

    it('records an id repeated inside one call once and reports the repeat as a duplicate', async () => {
      const r = await store.append('s', [event('x', 's'), event('y', 's', 1), event('x', 's')]);
      expect(r.results.map((x) => [x.event.eventId, x.duplicate, x.event.streamVersion])).toEqual([
        ['x', false, 1],
        ['y', false, 2],
        ['x', true, 1],
      ]);
      expect(r.results[2].event).toEqual(r.results[0].event);
      expect(ids(await store.readStream('s'))).toEqual(['x', 'y']);
    });

    it('is atomic: a batch with an invalid event writes nothing and names the problem', async () => {
      const bad = {
        ...event('bad', 's'),
        payload: { runId: 'r1', date: '2026-02-30' },
      } as unknown as Envelope;
      const invalid = await expectRejection(store.append('s', [event('ok', 's'), bad]));
      expect(invalid).toBeInstanceOf(InvalidEventError);
      expect((invalid as Error).message).toContain('PassReady payload invalid');
      expect((invalid as Error).message).toContain('date: not a calendar date');

      const wrongStream = await expectRejection(
        store.append('s', [event('ok', 's'), event('w', 'other')]),
      );
      expect(wrongStream).toBeInstanceOf(InvalidEventError);
      expect((wrongStream as Error).message).toContain(
        'event "w" has streamId "other" but was appended to stream "s"',
      );

      expect(await store.readStream('s')).toEqual([]);
      expect(await store.readAll()).toEqual([]);
      expect(await store.streamVersion('s')).toBe(0);
    });

    it('reads a stream from a version, and an unknown stream as empty', async () => {
      await store.append(
        's',
        [0, 1, 2, 3, 4].map((i) => event(`e${i}`, 's', i)),
      );
      expect(versions(await store.readStream('s', { fromVersion: 3 }))).toEqual([3, 4, 5]);
      expect(versions(await store.readStream('s', { fromVersion: 1 }))).toEqual([1, 2, 3, 4, 5]);
      expect(await store.readStream('s', { fromVersion: 6 })).toEqual([]);
      expect(await store.readStream('unknown')).toEqual([]);
      expect(await store.streamVersion('unknown')).toBe(0);
      expect(await store.streamVersion('s')).toBe(5);
    });

    it('reads all events in global order across streams, after a cursor and up to a limit', async () => {
      await store.append('a', [event('a1', 'a')]);
      await store.append('b', [event('b1', 'b'), event('b2', 'b', 1)]);
      await store.append('a', [event('a2', 'a', 1)]);
      await store.append('c', [event('c1', 'c')]);

      const all = await store.readAll();
      expect(ids(all)).toEqual(['a1', 'b1', 'b2', 'a2', 'c1']);
      expect(all.map((e) => [e.streamId, e.streamVersion])).toEqual([
        ['a', 1],
        ['b', 1],
        ['b', 2],
        ['a', 2],
        ['c', 1],
      ]);
      expect(ids(await store.readAll({ after: all[1].position }))).toEqual(['b2', 'a2', 'c1']);
      expect(ids(await store.readAll({ limit: 2 }))).toEqual(['a1', 'b1']);
      expect(ids(await store.readAll({ after: all[2].position, limit: 1 }))).toEqual(['a2']);
      expect(await store.readAll({ after: all[4].position })).toEqual([]);
      expect(await store.readAll({ limit: 0 })).toEqual([]);
    });

    it('pages through everything with after + limit, every event exactly once and in order', async () => {
      const appended: string[] = [];
      const streamsUsed = ['p', 'q', 'r'];
      for (let i = 0; i < 12; i++) {
        const stream = streamsUsed[i % 3];
        const batch = Array.from({ length: (i % 3) + 1 }, (_, j) =>
          event(`${stream}-${i}-${j}`, stream, j),
        );
        await store.append(stream, batch);
        appended.push(...batch.map((e) => e.eventId));
      }
      expect(appended).toHaveLength(24);

      const paged: StoredEvent[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 100; pages++) {
        const page = await store.readAll({ after, limit: 5 });
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(5);
        paged.push(...page);
        after = page[page.length - 1].position;
      }
      expect(ids(paged)).toEqual(appended);
      expect(paged).toEqual(await store.readAll());
      expect(new Set(paged.map((e) => e.position)).size).toBe(24);
    });

    describe('readStreamsByPrefix', () => {
      /** one event per append, so each has its own commit; ids say stream and order */
      const appendInOrder = async (streamIds: string[]) => {
        const counts = new Map<string, number>();
        for (const streamId of streamIds) {
          const n = (counts.get(streamId) ?? 0) + 1;
          counts.set(streamId, n);
          await store.append(streamId, [event(`${streamId}@${n}`, streamId, n)]);
        }
      };
      // batch streams written interleaved with their computation's stream, as executors do
      const runStreams = () =>
        appendInOrder([
          'run-A-X#b1',
          'run-A-X',
          'other',
          'run-A-X#b0',
          'run-AB',
          'run-A',
          'run-A-X#b1',
          'run-A-X',
          'run-A-X#b0',
          'other',
          'run-A-X#b1',
        ]);
      const byPrefix = async (prefix: string, opts?: { after?: string; limit?: number }) =>
        ids(await store.readStreamsByPrefix(prefix, opts));

      it('reads the streams under a prefix in global order across them, not grouped by stream', async () => {
        await runStreams();
        const read = await store.readStreamsByPrefix('run-A-X');
        expect(ids(read)).toEqual([
          'run-A-X#b1@1',
          'run-A-X@1',
          'run-A-X#b0@1',
          'run-A-X#b1@2',
          'run-A-X@2',
          'run-A-X#b0@2',
          'run-A-X#b1@3',
        ]);
        expect(read.map((e) => [e.streamId, e.streamVersion])).toEqual([
          ['run-A-X#b1', 1],
          ['run-A-X', 1],
          ['run-A-X#b0', 1],
          ['run-A-X#b1', 2],
          ['run-A-X', 2],
          ['run-A-X#b0', 2],
          ['run-A-X#b1', 3],
        ]);
        // the same stored events, positions included, as readAll hands out
        const all = await store.readAll();
        expect(read).toEqual(all.filter((e) => e.streamId.startsWith('run-A-X')));
      });

      it('matches a plain string prefix: callers add the separator they mean', async () => {
        await runStreams();
        const streamsOf = async (prefix: string) => [
          ...new Set((await store.readStreamsByPrefix(prefix)).map((e) => e.streamId)),
        ];
        expect(await streamsOf('run-A')).toEqual([
          'run-A-X#b1',
          'run-A-X',
          'run-A-X#b0',
          'run-AB',
          'run-A',
        ]);
        expect(await streamsOf('run-A-')).toEqual(['run-A-X#b1', 'run-A-X', 'run-A-X#b0']);
        expect(await streamsOf('run-A-X#')).toEqual(['run-A-X#b1', 'run-A-X#b0']);
        expect(await byPrefix('run-A-X#b0')).toEqual(['run-A-X#b0@1', 'run-A-X#b0@2']);
        expect(await byPrefix('r')).toHaveLength(9);
        expect(await byPrefix('run-AB')).toEqual(['run-AB@1']);
      });

      it('pages with after + limit through the same sequence as readAll filtered by the prefix', async () => {
        await runStreams();
        const all = await store.readAll();
        const under = (events: StoredEvent[]) =>
          ids(events.filter((e) => e.streamId.startsWith('run-A-X')));
        expect(under(all)).toHaveLength(7);

        const paged: string[] = [];
        let after: string | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const page = await store.readStreamsByPrefix('run-A-X', { after, limit: 2 });
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(2);
          paged.push(...ids(page));
          after = page[page.length - 1].position;
        }
        expect(paged).toEqual(under(all));

        // any position of the log is a valid cursor, also one of a stream outside the prefix
        for (const [k, e] of all.entries()) {
          expect(await byPrefix('run-A-X', { after: e.position })).toEqual(under(all.slice(k + 1)));
          expect(await byPrefix('run-A-X', { after: e.position, limit: 2 })).toEqual(
            under(all.slice(k + 1)).slice(0, 2),
          );
        }
        expect(await byPrefix('run-A-X', { limit: 3 })).toEqual(under(all).slice(0, 3));
        expect(await byPrefix('run-A-X', { limit: 0 })).toEqual([]);
        expect(await byPrefix('run-A-X', { limit: 100 })).toEqual(under(all));
      });

      it('matches %, _, \\ and regex characters literally', async () => {
        await appendInOrder([
          'a%b',
          'axb',
          'a_c',
          'ayc',
          'a\\d',
          'a\\\\e',
          'a.f',
          'a*g',
          'a[h',
          'a$',
        ]);
        expect(await byPrefix('a%')).toEqual(['a%b@1']);
        expect(await byPrefix('a_')).toEqual(['a_c@1']);
        expect(await byPrefix('a\\')).toEqual(['a\\d@1', 'a\\\\e@1']);
        expect(await byPrefix('a\\\\')).toEqual(['a\\\\e@1']);
        expect(await byPrefix('a.')).toEqual(['a.f@1']);
        expect(await byPrefix('a*')).toEqual(['a*g@1']);
        expect(await byPrefix('a[')).toEqual(['a[h@1']);
        expect(await byPrefix('a$')).toEqual(['a$@1']);
        expect(await byPrefix('a')).toHaveLength(10);
      });

      it('matches prefixes ending in any code point (U+FFFF, surrogate pairs, U+D7FF)', async () => {
        const streamIds = [
          'u\uFFFF',
          'u\uFFFFz',
          'u\u{10000}',
          'u\u{1F7FF}x',
          'u\u{1F800}',
          'u\uD7FF',
          'u\uE000',
          'u\u{10FFFF}',
          'u\u{10FFFF}\u{10FFFF}',
        ];
        await appendInOrder(streamIds);
        expect(await byPrefix('u\uFFFF')).toEqual(['u\uFFFF@1', 'u\uFFFFz@1']);
        expect(await byPrefix('u\u{1F7FF}')).toEqual(['u\u{1F7FF}x@1']);
        expect(await byPrefix('u\u{1F7FF}x')).toEqual(['u\u{1F7FF}x@1']);
        expect(await byPrefix('u\uD7FF')).toEqual(['u\uD7FF@1']);
        expect(await byPrefix('u\u{10FFFF}')).toEqual(['u\u{10FFFF}@1', 'u\u{10FFFF}\u{10FFFF}@1']);
        expect(await byPrefix('u')).toEqual(streamIds.map((s) => `${s}@1`));
      });

      it('returns [] for a prefix that matches no stream', async () => {
        expect(await store.readStreamsByPrefix('run-A')).toEqual([]);
        await runStreams();
        expect(await store.readStreamsByPrefix('run-B')).toEqual([]);
        expect(await store.readStreamsByPrefix('run-A-X#b0-')).toEqual([]);
        expect(await store.readStreamsByPrefix('0')).toEqual([]);
        expect(await store.readStreamsByPrefix('zzz')).toEqual([]);
        expect(await store.readStreamsByPrefix('RUN-A')).toEqual([]);
      });

      it('rejects an empty or malformed prefix, a bad limit or cursor, and calls after close', async () => {
        await runStreams();
        const empty = await expectRejection(store.readStreamsByPrefix(''));
        expect(empty).toBeInstanceOf(InvalidPrefixError);
        expect(empty).toMatchObject({ code: 'invalid-prefix', prefix: '' });
        expect((empty as Error).message).toContain(
          'invalid stream prefix "": expected a non-empty string (to read every stream, use readAll)',
        );
        const lone = await expectRejection(store.readStreamsByPrefix('run-\uD83D'));
        expect(lone).toBeInstanceOf(InvalidPrefixError);
        expect((lone as Error).message).toContain('lone UTF-16 surrogate');

        const negative = await expectRejection(store.readStreamsByPrefix('run-A', { limit: -1 }));
        expect(negative).toBeInstanceOf(InvalidLimitError);
        expect((negative as Error).message).toContain('invalid limit -1');
        await expect(store.readStreamsByPrefix('run-A', { limit: 1.5 })).rejects.toThrow(
          'invalid limit 1.5: expected a non-negative integer',
        );
        const cursor = await expectRejection(store.readStreamsByPrefix('run-A', { after: 'x' }));
        expect(cursor).toBeInstanceOf(InvalidPositionError);
        expect((cursor as Error).message).toContain('invalid position "x"');

        await store.close();
        const closed = await expectRejection(store.readStreamsByPrefix('run-A'));
        expect(closed).toBeInstanceOf(EventStoreClosedError);
        expect((closed as Error).message).toBe('event store is closed: cannot readStreamsByPrefix');
      });
    });
  });
}
