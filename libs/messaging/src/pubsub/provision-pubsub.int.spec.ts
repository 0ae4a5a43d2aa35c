import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { emulatorEnv, startPubSubEmulator, type RunningEmulator } from '@almanac/emulators';
import { waitFor } from '../conformance/wait-for';
import type { ReceivedMessage } from '../bus.port';
import { createPubSubBus } from './pubsub-bus';
import { provisionPubSub } from './provision-pubsub';

const topology = JSON.parse(
  readFileSync(join(__dirname, '../../../../infra/pubsub/topology.json'), 'utf8'),
) as unknown;

let emulator: RunningEmulator;
let pubsub: PubSub;

beforeAll(async () => {
  emulator = await startPubSubEmulator();
  Object.assign(process.env, emulatorEnv({ pubsub: emulator.host }));
  pubsub = new PubSub({ projectId: 'almanac-test', apiEndpoint: emulator.host });
}, 60_000);

afterAll(async () => {
  await pubsub?.close();
  await emulator?.stop();
});

const names = async () => ({
  topics: (await pubsub.getTopics())[0].map((t) => t.name.split('/').pop()).sort(),
  subscriptions: (await pubsub.getSubscriptions())[0].map((s) => s.name.split('/').pop()).sort(),
});

describe('provisionPubSub (emulator)', () => {
  it('creates the topology once, then finds everything in place and creates nothing', async () => {
    const first = await provisionPubSub(pubsub, topology);
    expect(first.existing).toEqual([]);
    expect(first.drift).toEqual([]);
    expect(first.created).toHaveLength(5 + 8 + 8 + 8); // topics, dead-letter topics, their subscriptions, subscriptions
    const after = await names();
    expect(after.topics).toEqual([
      'almanac.batch-results',
      'almanac.batches',
      'almanac.computations',
      'almanac.passes',
      'almanac.runs',
      'api.runs.dead-letter',
      'executor.batch-results.dead-letter',
      'executor.computations.dead-letter',
      'executor.passes.dead-letter',
      'planner.runs.dead-letter',
      'scheduler.backfill-computations.dead-letter',
      'scheduler.backfill-runs.dead-letter',
      'worker.batches.dead-letter',
    ]);
    expect(after.subscriptions).toEqual([
      'api.runs',
      'api.runs.dead-letter',
      'executor.batch-results',
      'executor.batch-results.dead-letter',
      'executor.computations',
      'executor.computations.dead-letter',
      'executor.passes',
      'executor.passes.dead-letter',
      'planner.runs',
      'planner.runs.dead-letter',
      'scheduler.backfill-computations',
      'scheduler.backfill-computations.dead-letter',
      'scheduler.backfill-runs',
      'scheduler.backfill-runs.dead-letter',
      'worker.batches',
      'worker.batches.dead-letter',
    ]);
    const [worker] = await pubsub.subscription('worker.batches').getMetadata();
    expect(worker.topic).toBe('projects/almanac-test/topics/almanac.batches');
    expect(worker.ackDeadlineSeconds).toBe(20);
    expect(worker.deadLetterPolicy).toMatchObject({
      deadLetterTopic: 'projects/almanac-test/topics/worker.batches.dead-letter',
      maxDeliveryAttempts: 5,
    });

    const second = await provisionPubSub(pubsub, topology);
    expect(second.created).toEqual([]);
    expect([...second.existing].sort()).toEqual([...first.created].sort());
    expect(second.drift).toEqual([]);
    expect(await names()).toEqual(after);
  });

  it('reports a subscription whose dead-letter policy drifted and leaves it alone', async () => {
    await pubsub.subscription('api.runs').setMetadata({
      deadLetterPolicy: {
        deadLetterTopic: 'projects/almanac-test/topics/api.runs.dead-letter',
        maxDeliveryAttempts: 9,
      },
    });
    const report = await provisionPubSub(pubsub, topology);
    expect(report.created).toEqual([]);
    expect(report.drift).toEqual([
      'subscription api.runs: dead-letter policy is api.runs.dead-letter after 9 attempts, topology says api.runs.dead-letter after 5',
    ]);
    const [metadata] = await pubsub.subscription('api.runs').getMetadata();
    expect(metadata.deadLetterPolicy?.maxDeliveryAttempts).toBe(9);
  });

  it('serves provisioned subscriptions through a bus without admin calls, dead letters retained', async () => {
    const bus = createPubSubBus(pubsub, { autoCreate: false });
    const handled: string[] = [];
    const sub = await bus.subscribe('almanac.passes', 'executor.passes', async (m) => {
      if (m.data === 'malformed') throw new Error('PassReady payload: expected object');
      handled.push(m.data);
    });
    await bus.publish('almanac.passes', [{ data: 'malformed' }, { data: '{"pass":0}' }]);
    // the dead letter waits on the retention subscription provisioning made for it
    const dead: ReceivedMessage[] = [];
    const dlq = await bus.subscribe(
      'executor.passes.dead-letter',
      'executor.passes.dead-letter',
      async (m) => void dead.push(m),
    );
    await waitFor(() => dead.length >= 1 && handled.length >= 1, 20_000, 'dead letter and pass');
    expect(handled).toEqual(['{"pass":0}']);
    expect(dead.map((m) => [m.data, m.attributes])).toEqual([
      [
        'malformed',
        { deadLetterReason: 'PassReady payload: expected object', deliveryAttempts: '5' },
      ],
    ]);
    await sub.close();
    await dlq.close();
    await bus.close();
  });
});
