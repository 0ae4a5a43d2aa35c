import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { BigQuery } from '@google-cloud/bigquery';
import { Spanner } from '@google-cloud/spanner';
import { Storage } from '@google-cloud/storage';
import {
  emulatorEnv,
  startBigQueryEmulator,
  startPubSubEmulator,
  startSpannerEmulator,
  startStorageEmulator,
  type RunningEmulator,
} from './harness';

// The harness itself: both emulators start on free ports and answer their clients.
describe('emulator harness', () => {
  const started: RunningEmulator[] = [];
  afterAll(async () => {
    await Promise.all(started.map((e) => e.stop()));
  });

  it('starts the Pub/Sub emulator and a topic round-trips a message', async () => {
    const emu = await startPubSubEmulator();
    started.push(emu);
    Object.assign(process.env, emulatorEnv({ pubsub: emu.host }));
    const pubsub = new PubSub({ projectId: 'almanac-test', apiEndpoint: emu.host });
    const [topic] = await pubsub.createTopic('harness');
    const [sub] = await topic.createSubscription('harness-sub');
    const got = new Promise<string>((resolve) =>
      sub.on('message', (m) => (m.ack(), resolve(m.data.toString()))),
    );
    await topic.publishMessage({ data: Buffer.from('hello') });
    await expect(got).resolves.toBe('hello');
    await sub.close();
    await pubsub.close();
  });

  it('starts the Spanner emulator and a database answers a query', async () => {
    const emu = await startSpannerEmulator();
    started.push(emu);
    Object.assign(process.env, emulatorEnv({ spanner: emu.host }));
    const spanner = new Spanner({
      projectId: 'almanac-test',
      servicePath: '127.0.0.1',
      port: Number(emu.host.split(':')[1]),
      sslCreds: undefined,
    });
    const [instance, op] = await spanner.createInstance('harness', {
      config: 'emulator-config',
      nodes: 1,
    });
    await op.promise();
    const [database, dbOp] = await instance.createDatabase('db', {
      schema: ['CREATE TABLE T (Id INT64 NOT NULL) PRIMARY KEY (Id)'],
    });
    await dbOp.promise();
    const [rows] = await database.run({ sql: 'SELECT 1 AS one' });
    expect(rows.map((r) => r.toJSON())).toEqual([{ one: 1 }]);
    await database.close();
    void spanner.close();
  });

  it('starts the BigQuery emulator and a parameterised query reads a partitioned table', async () => {
    const emu = await startBigQueryEmulator();
    started.push(emu);
    const bq = new BigQuery({ projectId: 'almanac-test', apiEndpoint: emu.endpoint });
    const [dataset] = await bq.createDataset('harness');
    const [table] = await dataset.createTable('t', {
      schema: [
        { name: 'id', type: 'STRING' },
        { name: 'day', type: 'DATE' },
      ],
      timePartitioning: { type: 'DAY', field: 'day' },
    });
    await table.insert([
      { id: 'a', day: '2026-01-01' },
      { id: 'b', day: '2026-01-02' },
    ]);
    const [rows] = await bq.query({
      query: 'SELECT id FROM `almanac-test.harness.t` WHERE day = @day',
      params: { day: bq.date('2026-01-02') },
    });
    expect(rows).toEqual([{ id: 'b' }]);
  });

  it('starts the Cloud Storage emulator and an object round-trips', async () => {
    const emu = await startStorageEmulator();
    started.push(emu);
    const storage = new Storage({ projectId: 'almanac-test', apiEndpoint: emu.endpoint });
    const [bucket] = await storage.createBucket('harness');
    await bucket.file('a/b.json').save('{"x":1}');
    const [content] = await bucket.file('a/b.json').download();
    expect(content.toString()).toBe('{"x":1}');
  });

  it('without the BigQuery emulator installed and no Docker engine, fails naming the install command', () => {
    const script = [
      "process.env.ALMANAC_EMULATORS_DIR = '/nonexistent';",
      "require('tsx/cjs/api').register();",
      "require('./test/emulators/harness.ts').startBigQueryEmulator().then(",
      "  () => { console.log('STARTED'); process.exit(0); },",
      "  (e) => { console.log(e.constructor.name + ': ' + e.message); process.exit(3); });",
    ].join('\n');
    const out = spawnSync(process.execPath, ['-e', script], {
      cwd: join(__dirname, '..', '..'),
      encoding: 'utf8',
      env: { ...process.env, DOCKER_HOST: 'tcp://127.0.0.1:1', TSX_TSCONFIG_PATH: 'tsconfig.json' },
      timeout: 60_000,
    });
    expect(out.stdout).toContain(
      'EmulatorUnavailableError: the BigQuery emulator is not installed',
    );
    expect(out.stdout).toContain('npm run emulators:install');
    expect(out.stdout).toContain('no Docker engine answered either');
    expect(out.status).toBe(3);
  });

  it('without an SDK and without a Docker engine, fails saying what to install (nothing is skipped)', () => {
    const script = [
      "process.env.CLOUDSDK_ROOT = '/nonexistent';",
      "process.env.PATH = '/nonexistent';",
      "require('tsx/cjs/api').register();",
      "require('./test/emulators/harness.ts').startSpannerEmulator().then(",
      "  () => { console.log('STARTED'); process.exit(0); },",
      "  (e) => { console.log(e.constructor.name + ': ' + e.message); process.exit(3); });",
    ].join('\n');
    const out = spawnSync(process.execPath, ['-e', script], {
      cwd: join(__dirname, '..', '..'),
      encoding: 'utf8',
      env: { ...process.env, DOCKER_HOST: 'tcp://127.0.0.1:1', TSX_TSCONFIG_PATH: 'tsconfig.json' },
      timeout: 60_000,
    });
    expect(out.stdout).toContain('EmulatorUnavailableError: no Google Cloud SDK found');
    expect(out.stdout).toContain('install the Google Cloud CLI with its emulators');
    expect(out.stdout).toContain('no Docker engine answered either');
    expect(out.status).toBe(3);
  });
});
