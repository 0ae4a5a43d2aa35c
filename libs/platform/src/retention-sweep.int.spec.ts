import type { Database } from '@google-cloud/spanner';
// the emulator harness lives in test/, which is not an Nx project (no alias to import it by)
import { startSpannerTestInstance, type SpannerTestInstance } from '@almanac/emulators';
import { createSqliteEventStore, type EventStore } from '@almanac/eventlog';
import { buildManifest, Computation } from '@almanac/kernel';
import { createInProcessBus } from '@almanac/messaging';
import {
  createSpannerResultStore,
  SPANNER_RESULTS_DDL,
  type ResultStore,
} from '@almanac/warehouse';
import { EventPublisher } from './event-publisher';
import { RetentionSweep } from './retention-sweep';

const DAY_MS = 86_400_000;
const NOW = new Date('2026-12-01T12:00:00Z');

class Kept30 extends Computation {
  static getConfig() {
    return { name: 'Kept30', type: 'global', ttlDays: 30 } as const;
  }
  async process() {
    return null;
  }
}

// Given versions in the Spanner result store (the gcp profile's), a sweep expires the dates
// older than ttlDays there as it does on DuckDB (ADR 0018; test/embedded/retention.spec.ts).
describe('retention sweep over the Spanner result store', () => {
  let emulator: SpannerTestInstance | undefined;
  let database: Database;
  let results: ResultStore;
  let log: EventStore;

  beforeAll(async () => {
    emulator = await startSpannerTestInstance('retention');
    const [db, op] = await emulator.instance.createDatabase('retention', {
      schema: [...SPANNER_RESULTS_DDL],
    });
    await op.promise();
    database = db;
    // written ten days before the sweep: past the in-use window
    results = createSpannerResultStore(database, { now: () => NOW.getTime() - 10 * DAY_MS });
    log = createSqliteEventStore(':memory:');
  });

  afterAll(async () => {
    await results?.close();
    await database?.close();
    await log?.close();
    await emulator?.stop();
  });

  it('records, then deletes every version of the dates before the cutoff, once', async () => {
    const row = { entityId: '_global', result: { n: 1 }, resultHash: 'h' };
    await results.write('Kept30', '2026-10-01', 'r1/1', 'r1', [row]);
    await results.write('Kept30', '2026-10-01', 'r2/1', 'r2', [row]);
    await results.write('Kept30', '2026-11-01', 'r3/1', 'r3', [row]);
    const bus = createInProcessBus();
    const sweep = new RetentionSweep({
      log,
      publisher: new EventPublisher(log, bus),
      results,
      project: {
        manifest: buildManifest([{ ctor: Kept30, file: 'kept30.ts' }]),
        planned: new Map(),
      },
      producer: 'scheduler',
    });
    const report = await sweep.sweep({ now: NOW });
    expect(report.computations).toEqual([
      { computation: 'Kept30', ttlDays: 30, cutoff: '2026-11-01' },
    ]);
    expect(report.expired).toEqual([
      { computation: 'Kept30', date: '2026-10-01', versions: ['r1/1', 'r2/1'], current: null },
    ]);
    expect((await log.readAll()).map((e) => e.type)).toEqual(['ResultVersionsExpired']);
    expect(await results.versions('Kept30', '2026-10-01')).toEqual([]);
    expect((await results.versions('Kept30', '2026-11-01')).map((v) => v.version)).toEqual([
      'r3/1',
    ]);

    const again = await sweep.sweep({ now: NOW });
    expect([again.expired, again.deleted]).toEqual([[], []]);
    expect(await log.readAll()).toHaveLength(1);
    await bus.close();
  });
});
