import { PubSub } from '@google-cloud/pubsub';
import { z } from 'zod';
import { emulatorEnv, startPubSubEmulator, type RunningEmulator } from '@almanac/emulators';
import { deadLetterTopic, type ReceivedMessage } from '../bus.port';
import { busConformance } from '../conformance/bus.conformance';
import { sleep, waitFor } from '../conformance/wait-for';
import { createPubSubBus, type PubSubBus } from './pubsub-bus';

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

busConformance('pubsub', async () => {
  const bus = createPubSubBus(pubsub);
  return { bus, cleanup: () => bus.close(), settle: () => bus.idle() };
});

let counter = 0;
const unique = (label: string) =>
  `it-${label}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

describe('Pub/Sub bus', () => {
  let bus: PubSubBus;
  beforeEach(() => {
    bus = createPubSubBus(pubsub);
  });
  afterEach(async () => {
    await bus.close();
  });

  it('dead-letters a message its handler cannot parse, with the reason, and keeps serving', async () => {
    const topic = unique('runs');
    const subscription = unique('planner');
    const envelope = z.object({ eventId: z.string(), type: z.literal('RunRequested') });
    const handled: string[] = [];
    const dead: ReceivedMessage[] = [];
    const dlq = await bus.subscribe(deadLetterTopic(subscription), unique('dlq'), async (m) => {
      dead.push(m);
    });
    const sub = await bus.subscribe(
      topic,
      subscription,
      async (m) => {
        const event = envelope.parse(JSON.parse(m.data));
        handled.push(event.eventId);
      },
      { maxDeliveryAttempts: 5 },
    );
    await bus.publish(topic, [
      { data: '{"eventId":"RunRequested:r1","type":"RunRequested"}' },
      { data: '{"eventId":"x","type":"Bogus"}', attributes: { correlationId: 'r2' } },
      { data: 'not json at all', attributes: { correlationId: 'r3' } },
    ]);
    await waitFor(() => dead.length >= 2, 20_000, 'two dead letters');
    await bus.publish(topic, [{ data: '{"eventId":"RunRequested:r4","type":"RunRequested"}' }]);
    await waitFor(() => handled.length >= 2, 20_000, 'two events handled');
    await bus.idle();

    expect(handled.sort()).toEqual(['RunRequested:r1', 'RunRequested:r4']);
    const byCorrelation = Object.fromEntries(dead.map((m) => [m.attributes.correlationId, m]));
    expect(Object.keys(byCorrelation).sort()).toEqual(['r2', 'r3']);
    expect(byCorrelation.r2.data).toBe('{"eventId":"x","type":"Bogus"}');
    expect(byCorrelation.r2.attributes.deadLetterReason).toContain('expected \\"RunRequested\\"');
    expect(byCorrelation.r2.attributes.deliveryAttempts).toBe('5');
    expect(byCorrelation.r3.data).toBe('not json at all');
    expect(byCorrelation.r3.attributes.deadLetterReason).toContain('is not valid JSON');
    expect(byCorrelation.r3.attributes.deliveryAttempts).toBe('5');
    await sub.close();
    await dlq.close();
  });

  it('dead-letters below the Pub/Sub minimum of 5 attempts, and keeps a reason longer than an attribute allows', async () => {
    const topic = unique('topic');
    const subscription = unique('two');
    const attempts: number[] = [];
    const dead: ReceivedMessage[] = [];
    await bus.subscribe(deadLetterTopic(subscription), unique('dlq'), async (m) => {
      dead.push(m);
    });
    await bus.subscribe(
      topic,
      subscription,
      async (m) => {
        attempts.push(m.deliveryAttempt);
        throw new Error(`bad ${'é'.repeat(2000)}`);
      },
      { maxDeliveryAttempts: 2 },
    );
    await bus.publish(topic, [{ data: 'poison' }]);
    await waitFor(() => dead.length >= 1, 20_000, 'the dead letter');
    await bus.idle();

    expect(attempts).toEqual([1, 2]);
    expect(dead).toHaveLength(1);
    const reason = dead[0].attributes.deadLetterReason;
    expect(reason.startsWith('bad éé')).toBe(true);
    expect(reason.endsWith('...')).toBe(true);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(1024);
    // the native policy (the safety net if a subscriber dies on the last attempt) is at the minimum
    const [metadata] = await pubsub.subscription(subscription).getMetadata();
    expect(metadata.deadLetterPolicy?.maxDeliveryAttempts).toBe(5);
    expect(metadata.deadLetterPolicy?.deadLetterTopic).toBe(
      `projects/almanac-test/topics/${deadLetterTopic(subscription)}`,
    );
  });

  it('round-trips trace and correlation attributes, unicode data and ordering keys', async () => {
    const topic = unique('topic');
    const received: ReceivedMessage[] = [];
    await bus.subscribe(topic, unique('sub'), async (m) => void received.push(m));
    const attributes = {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      correlationId: 'run-2024-06-01',
      causationId: 'RunPlanned:run-2024-06-01',
      empty: '',
    };
    const ids = await bus.publish(topic, [
      { data: '{"payload":"ünïcödé ✓"}', attributes, orderingKey: 'run-2024-06-01' },
    ]);
    await waitFor(() => received.length >= 1, 20_000, 'the message');
    await bus.idle();
    expect(received).toEqual([
      {
        id: ids[0],
        data: '{"payload":"ünïcödé ✓"}',
        attributes,
        deliveryAttempt: 1,
        publishTime: expect.any(String),
      },
    ]);
  });

  it('publishes 2,500 messages in one call as several batches (one Pub/Sub request holds at most 1,000)', async () => {
    const topic = unique('topic');
    const seen = new Set<string>();
    await bus.subscribe(topic, unique('sub'), async (m) => void seen.add(m.data), {
      concurrency: 500,
    });
    const started = Date.now();
    const ids = await bus.publish(
      topic,
      Array.from({ length: 2500 }, (_, i) => ({ data: `m${i}`, attributes: { i: String(i) } })),
    );
    const publishMs = Date.now() - started;
    expect(ids).toHaveLength(2500);
    expect(new Set(ids).size).toBe(2500);
    await waitFor(() => seen.size >= 2500, 30_000, '2,500 messages received');
    expect(seen.size).toBe(2500);
    console.log(`published 2,500 messages in ${publishMs} ms`);
  });

  it('rejects what Pub/Sub would reject with typed errors', async () => {
    await expect(bus.publish(unique('topic'), [{ data: 'ok' }, { data: '' }])).rejects.toThrow(
      'message 1 published to',
    );
    await expect(
      bus.subscribe(unique('topic'), unique('sub'), async () => undefined, {
        maxDeliveryAttempts: 101,
      }),
    ).rejects.toThrow('invalid maxDeliveryAttempts 101: expected an integer from 1 to 100');
    const topic = unique('topic');
    const subscription = unique('sub');
    const first = await bus.subscribe(topic, subscription, async () => undefined);
    await expect(
      bus.subscribe(unique('other'), subscription, async () => undefined),
    ).rejects.toThrow(`subscription "${subscription}" already exists on topic "${topic}"`);
    await expect(
      bus.subscribe(topic, subscription, async () => undefined, { maxDeliveryAttempts: 8 }),
    ).rejects.toThrow(`is provisioned with maxDeliveryAttempts 5 but the subscriber asks for 8`);
    await first.close();
  });

  it('without autoCreate, publishing to a missing topic says to provision it', async () => {
    const strict = createPubSubBus(pubsub, { autoCreate: false });
    const topic = unique('missing');
    await expect(strict.publish(topic, [{ data: 'x' }])).rejects.toMatchObject({
      code: 'publish-failed',
      retryable: false,
      message: expect.stringContaining(`to "${topic}" failed: 5 NOT_FOUND`),
    });
    await strict.close();
  });

  it('adds a dead-letter policy to an existing subscription that has none, so attempts are counted', async () => {
    const topic = unique('topic');
    const subscription = unique('bare');
    const [created] = await pubsub.createTopic(topic);
    await created.createSubscription(subscription);
    const attempts: number[] = [];
    await bus.subscribe(topic, subscription, async (m) => {
      attempts.push(m.deliveryAttempt);
      if (m.deliveryAttempt < 2) throw new Error('once');
    });
    await bus.publish(topic, [{ data: 'x' }]);
    await waitFor(() => attempts.length >= 2, 20_000, 'two attempts');
    await bus.idle();
    expect(attempts).toEqual([1, 2]);
  });

  it('close lets the handler in flight ack, so the message is not delivered again', async () => {
    const topic = unique('topic');
    const subscription = unique('sub');
    const handled: string[] = [];
    let started = 0;
    const sub = await bus.subscribe(topic, subscription, async (m) => {
      started++;
      await sleep(300);
      handled.push(`${m.data}#${m.deliveryAttempt}`);
    });
    await bus.publish(topic, [{ data: 'slow' }]);
    await waitFor(() => started === 1, 20_000, 'the handler started');
    await sub.close();
    expect(handled).toEqual(['slow#1']);
    const again: string[] = [];
    await bus.subscribe(topic, subscription, async (m) => void again.push(m.data));
    await sleep(1500);
    expect(again).toEqual([]);
  });
});
