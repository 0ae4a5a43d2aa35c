import { eventSchemas, makeEvent, type Envelope, type PayloadInput } from '@almanac/contracts';
import { createSqliteEventStore, type EventStore } from '@almanac/eventlog';
import { createInProcessBus } from '@almanac/messaging';
import {
  EventPublisher,
  parseProjectConfig,
  type LoadedProject,
  type ProjectConfig,
} from '@almanac/platform';
import type { ResultStore, Warehouse } from '@almanac/warehouse';
import { WorkerService } from './worker.service';

const DATE = '2026-01-15';
const at = '2026-01-15T02:00:00.000Z';

function event<T extends Envelope['type']>(
  type: T,
  streamId: string,
  id: string,
  payload: PayloadInput<T>,
) {
  return makeEvent({
    type,
    eventId: id,
    streamId,
    correlationId: 'r1',
    causationId: null,
    producer: 'test',
    occurredAt: at,
    payload,
  } as Parameters<typeof makeEvent<T>>[0]);
}

const started = (attempt: number) =>
  event('ComputationStarted', 'run-r1-A', `ComputationStarted:r1:A:${attempt}`, {
    runId: 'r1',
    date: DATE,
    computation: 'A',
    pass: 0,
    attempt,
    owner: 'executor-1',
    leaseExpiresAt: at,
    compositeHash: 'h',
    hashParts: { code: 'c', epoch: '1', inputs: {}, dependencies: {}, previous: null, scope: null },
    entityCount: 1,
    batchCount: 1,
    scoped: false,
    dryRun: false,
    forced: false,
    reason: { code: 'first-run' },
  });

const request = (attempt: number) =>
  event('BatchRequested', 'run-r1-A#b0', `BatchRequested:r1:A:${attempt}:0:0`, {
    runId: 'r1',
    date: DATE,
    computation: 'A',
    attempt,
    batch: 0,
    entityIds: ['u1'],
    dryRun: false,
    resultVersion: `r1/${attempt}`,
  });

// The worker's side of fencing: a request of an attempt that was taken over is not worked.
describe('worker: requests of superseded attempts', () => {
  let store: EventStore;
  let worker: WorkerService;
  const answers = () =>
    store.readAll().then((events) => events.filter((e) => e.type === 'BatchDone'));

  beforeEach(() => {
    store = createSqliteEventStore(':memory:');
    // a project that knows no computation: a request it works is answered with a batch error
    const project = {
      manifest: { entries: new Map() },
      planned: new Map(),
    } as unknown as LoadedProject;
    const config: ProjectConfig = parseProjectConfig({
      warehouse: { path: 'warehouse.duckdb' },
      tables: {},
      entities: { table: 'users', idField: 'user_id' },
    });
    worker = new WorkerService({
      publisher: new EventPublisher(store, createInProcessBus()),
      project,
      config,
      warehouse: {} as Warehouse,
      results: {} as ResultStore,
      clock: () => new Date(at),
      store,
      schemas: eventSchemas,
    });
  });
  afterEach(() => store.close());

  it('works a request of the current attempt', async () => {
    await store.append('run-r1-A', [started(1)]);
    await worker.onMessage(JSON.stringify(request(1)));
    expect((await answers()).map((e) => e.eventId)).toEqual(['BatchDone:r1:A:1:0:0']);
  });

  it('skips a request of an attempt that a later attempt replaced, or of a decided computation', async () => {
    await store.append('run-r1-A', [started(1), started(2)]);
    await worker.onMessage(JSON.stringify(request(1)));
    expect(await answers()).toEqual([]);
    await worker.onMessage(JSON.stringify(request(2)));
    expect((await answers()).map((e) => e.eventId)).toEqual(['BatchDone:r1:A:2:0:0']);
  });

  it('records the replica that did the batch in its BatchDone when it knows its owner name', async () => {
    const named = new WorkerService({
      publisher: new EventPublisher(store, createInProcessBus()),
      project: { manifest: { entries: new Map() }, planned: new Map() } as unknown as LoadedProject,
      config: parseProjectConfig({
        warehouse: { path: 'warehouse.duckdb' },
        tables: {},
        entities: { table: 'users', idField: 'user_id' },
      }),
      warehouse: {} as Warehouse,
      results: {} as ResultStore,
      clock: () => new Date(at),
      store,
      schemas: eventSchemas,
      owner: 'worker-2',
    });
    await store.append('run-r1-A', [started(1)]);
    await named.onMessage(JSON.stringify(request(1)));
    expect((await answers()).map((e) => e.payload)).toEqual([
      expect.objectContaining({ batch: 0, worker: 'worker-2' }),
    ]);
  });
});
