import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { PubSub } from '@google-cloud/pubsub';
import { Spanner, type Database } from '@google-cloud/spanner';
import {
  emulatorEnv,
  startSpannerEmulator,
  startPubSubEmulator,
  type RunningEmulator,
} from '@almanac/emulators';
import { createPubSubBus } from '@almanac/messaging';
import { createDuckDbWarehouse } from '@almanac/warehouse';
import { gcpReadiness } from './gcp-readiness';
import { hostService } from './service-host';

// Readiness of a gcp service against the real emulators, with the checks runGcpService wires.
let spannerEmulator: RunningEmulator | undefined;
let pubsubEmulator: RunningEmulator | undefined;
let spanner: Spanner;
let database: Database;
let pubsub: PubSub;
const cleanups: Array<() => Promise<unknown>> = [];

let counter = 0;
const unique = (label: string) => `health-${label}-${process.pid}-${++counter}`;

/** A service with one subscription whose handler runs `handler`, hosted with gcp readiness. */
async function service(handler: (data: string) => Promise<void> = async () => undefined) {
  const topic = unique('topic');
  const subscription = `${topic}.worker`;
  const bus = createPubSubBus(pubsub, { onError: () => undefined });
  // a real (empty) DuckDB warehouse, as the gcp profile opens one
  const dir = mkdtempSync(join(tmpdir(), 'almanac-readiness-'));
  const warehouse = await createDuckDbWarehouse({ path: join(dir, 'w.duckdb'), readOnly: false });
  cleanups.push(async () => {
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let closeBegan!: () => void;
  const closing = new Promise<void>((resolve) => (closeBegan = resolve));
  await bus.subscribe(topic, subscription, (m) => handler(m.data));
  const app: INestApplication = await hostService(
    {
      name: 'worker',
      health: () => ({}),
      readiness: gcpReadiness({ database, bus, warehouse, timeoutMs: 1_000 }),
      drain: () => {
        closeBegan();
        return bus.close();
      },
      close: () => bus.close(),
    },
    { port: 0, host: '127.0.0.1' },
  );
  cleanups.push(
    () => app.close(),
    () => bus.close(),
  );
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const get = async (path: string) => {
    const res = await fetch(`${url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { app, bus, warehouse, topic, subscription, get, closing };
}

/** An instance and an empty database: SELECT 1 needs no table. */
async function createDatabase(): Promise<Database> {
  const [instance, op] = await spanner.createInstance('health', {
    config: 'emulator-config',
    nodes: 1,
  });
  await op.promise();
  const [created, dbOp] = await instance.createDatabase('health');
  await dbOp.promise();
  return created;
}

beforeAll(async () => {
  [spannerEmulator, pubsubEmulator] = await Promise.all([
    startSpannerEmulator(),
    startPubSubEmulator(),
  ]);
  Object.assign(
    process.env,
    emulatorEnv({ spanner: spannerEmulator.host, pubsub: pubsubEmulator.host }),
  );
  spanner = new Spanner({ projectId: 'almanac-test' });
  database = await createDatabase();
  pubsub = new PubSub({ projectId: 'almanac-test', apiEndpoint: pubsubEmulator.host });
}, 120_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
});

afterAll(async () => {
  await pubsub?.close();
  void spanner?.close();
  await Promise.all([spannerEmulator?.stop(), pubsubEmulator?.stop()]);
});

describe('gcp readiness on the emulators', () => {
  it('given Spanner answers and the subscription streams, when GET /health/ready, then 200 with spanner and pubsub up', async () => {
    const svc = await service();
    expect(await svc.get('/health/ready')).toMatchObject({
      status: 200,
      body: {
        status: 'ok',
        info: {
          spanner: { status: 'up' },
          pubsub: { status: 'up' },
          warehouse: { status: 'up' },
        },
      },
    });
  });

  it('given the warehouse does not answer, when GET /health/ready, then 503 naming the warehouse check', async () => {
    const svc = await service();
    await svc.warehouse.close();
    const ready = await svc.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      error: { warehouse: { status: 'down', message: expect.stringMatching(/closed/) } },
      info: { spanner: { status: 'up' }, pubsub: { status: 'up' } },
    });
  });

  it('given the Spanner emulator is stopped, when GET /health/ready, then 503 naming spanner within the deadline; and 200 again once it runs on', async () => {
    const svc = await service();
    expect((await svc.get('/health/ready')).status).toBe(200);
    await spannerEmulator!.pause();
    try {
      const ready = await svc.get('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        error: { spanner: { status: 'down', message: expect.stringMatching(/Spanner/) } },
      });
    } finally {
      await spannerEmulator!.resume();
    }
    // the client's calls that timed out do not poison it: readiness returns without a restart
    let status = 0;
    for (let i = 0; i < 60 && status !== 200; i++) {
      status = (await svc.get('/health/ready')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 500));
    }
    expect(status).toBe(200);
  });

  it('given the service subscription is deleted, when GET /health/ready, then 503 naming the pubsub check and the subscription', async () => {
    const svc = await service();
    expect((await svc.get('/health/ready')).status).toBe(200);
    await pubsub.subscription(svc.subscription).delete();

    const ready = await svc.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      status: 'error',
      error: { pubsub: { status: 'down' } },
      info: { spanner: { status: 'up' } },
    });
    const { message } = (ready.body.error as Record<string, { message: string }>).pubsub;
    expect(message).toContain(`subscription "${svc.subscription}"`);
  });

  it('given a message in flight, when the service shuts down, then readiness is 503 draining until the handler finishes, and the message is handled', async () => {
    let began!: () => void;
    const handlerBegan = new Promise<void>((resolve) => (began = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    const svc = await service(async (data) => {
      began();
      await released;
      handled.push(data);
    });
    await svc.bus.publish(svc.topic, [{ data: 'm1' }]);
    await handlerBegan;

    const stopped = svc.app.close();
    await svc.closing; // the bus now waits for the handler
    const ready = await svc.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      error: { shutdown: { status: 'down', message: 'draining' } },
    });
    expect(handled).toEqual([]);

    release();
    await stopped;
    expect(handled).toEqual(['m1']);
  });
});
