import { randomBytes } from 'node:crypto';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import {
  emulatorEnv,
  startPubSubEmulator,
  startStorageEmulator,
  type RunningEmulator,
  type RunningHttpEmulator,
} from '@almanac/emulators';
import { createGcsObjectStore, type ObjectStore } from '@almanac/storage';
import { deadLetterTopic, type ReceivedMessage } from '../bus.port';
import { sleep, waitFor } from '../conformance/wait-for';
import { createPubSubBus, type PubSubBus } from './pubsub-bus';

let pubsubEmulator: RunningEmulator;
let storageEmulator: RunningHttpEmulator;
let pubsub: PubSub;
let store: ObjectStore;
const BUCKET = 'claims-test';
const THRESHOLD = 9 * 1024 * 1024;
/** 11 MB of data: more than a Pub/Sub message holds */
const big = randomBytes(8_250_000).toString('base64');

beforeAll(async () => {
  [pubsubEmulator, storageEmulator] = await Promise.all([
    startPubSubEmulator(),
    startStorageEmulator(),
  ]);
  Object.assign(process.env, emulatorEnv({ pubsub: pubsubEmulator.host }));
  pubsub = new PubSub({ projectId: 'almanac-test', apiEndpoint: pubsubEmulator.host });
  const storage = new Storage({ projectId: 'almanac-test', apiEndpoint: storageEmulator.endpoint });
  await storage.createBucket(BUCKET);
  store = createGcsObjectStore({ storage, bucket: BUCKET, prefix: 'almanac/' });
}, 60_000);

afterAll(async () => {
  await pubsub?.close();
  await Promise.all([pubsubEmulator?.stop(), storageEmulator?.stop()]);
});

let counter = 0;
const unique = (label: string) =>
  `claim-${label}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

/** The messages Pub/Sub itself carries on a subscription, read without the bus. */
async function rawMessages(subscription: string, until: (m: Message[]) => boolean) {
  const seen: Message[] = [];
  const sub = pubsub.subscription(subscription);
  sub.on('message', (m: Message) => {
    seen.push(m);
    m.ack();
  });
  await waitFor(() => until(seen), 20_000, `messages on ${subscription}`);
  await sub.close();
  return seen;
}

describe('Pub/Sub bus with a claim check on Cloud Storage', () => {
  let bus: PubSubBus;
  beforeEach(() => {
    bus = createPubSubBus(pubsub, { claimCheck: { store, thresholdBytes: THRESHOLD } });
  });
  afterEach(async () => {
    await bus.close();
  });

  it('delivers an 11 MB message intact, with its attributes, to each of two subscriptions, through one object that Pub/Sub only names', async () => {
    const topic = unique('results');
    const received: Record<string, ReceivedMessage[]> = { a: [], b: [] };
    for (const key of ['a', 'b'] as const)
      await bus.subscribe(topic, unique(key), async (m) => void received[key].push(m));
    const raw = unique('raw');
    await pubsub.topic(topic).createSubscription(raw);
    const attributes = {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      correlationId: 'run-1',
    };

    const [id] = await bus.publish(topic, [{ data: big, attributes }]);
    await waitFor(() => received.a.length >= 1 && received.b.length >= 1, 60_000, 'both');
    await bus.idle();

    for (const key of ['a', 'b'] as const) {
      expect(received[key]).toHaveLength(1);
      const [m] = received[key];
      expect({ ...m, data: m.data.length }).toEqual({
        id,
        data: big.length,
        attributes,
        deliveryAttempt: 1,
        publishTime: expect.any(String),
      });
      expect(m.data === big).toBe(true);
    }
    const objects = await store.list(`claims/${topic}/`);
    expect(objects).toHaveLength(1);
    const [onTheWire] = await rawMessages(raw, (m) => m.length >= 1);
    expect(onTheWire.data.toString()).toBe(store.uri(objects[0]));
    expect(onTheWire.attributes).toEqual({ ...attributes, 'almanac-claim': objects[0] });
  }, 120_000);

  it('sends a message at or below the threshold as it is: nothing is stored', async () => {
    const topic = unique('small');
    const received: ReceivedMessage[] = [];
    await bus.subscribe(topic, unique('sub'), async (m) => void received.push(m));
    const small = 'x'.repeat(1024);
    await bus.publish(topic, [{ data: small, attributes: { correlationId: 'run-2' } }]);
    await waitFor(() => received.length >= 1, 20_000, 'the message');
    expect(received[0].data).toBe(small);
    expect(received[0].attributes).toEqual({ correlationId: 'run-2' });
    expect(await store.list(`claims/${topic}/`)).toEqual([]);
  });

  it('does not ack a message whose claim object is missing: it is redelivered, then dead-lettered with a reason naming the object', async () => {
    const topic = unique('missing');
    const subscription = unique('sub');
    const handled: ReceivedMessage[] = [];
    await bus.subscribe(topic, subscription, async (m) => void handled.push(m), {
      maxDeliveryAttempts: 2,
    });
    const claim = `claims/${topic}/gone`;
    await pubsub.topic(topic).publishMessage({
      data: Buffer.from(store.uri(claim)),
      attributes: { 'almanac-claim': claim },
    });

    const [letter] = await rawMessages(deadLetterTopic(subscription), (m) => m.length >= 1);
    expect(handled).toEqual([]);
    expect(letter.attributes.deliveryAttempts).toBe('2');
    expect(letter.attributes.deadLetterReason).toBe(
      `object not found: gs://${BUCKET}/almanac/claims/${topic}/gone`,
    );
  });

  it('a bus without a claim check does not hand its handler a claimed message: it dead-letters it saying so', async () => {
    const plain = createPubSubBus(pubsub);
    const topic = unique('unconfigured');
    const subscription = unique('sub');
    const handled: ReceivedMessage[] = [];
    await plain.subscribe(topic, subscription, async (m) => void handled.push(m), {
      maxDeliveryAttempts: 1,
    });
    await bus.publish(topic, [{ data: big }]);
    const [letter] = await rawMessages(deadLetterTopic(subscription), (m) => m.length >= 1);
    const [claim] = await store.list(`claims/${topic}/`);
    expect(handled).toEqual([]);
    expect(letter.attributes.deadLetterReason).toBe(
      `the message's data is in the object store as "${claim}" but this bus has no claim check: set storage in almanac.config.ts`,
    );
    await plain.close();
  }, 60_000);

  it('without a claim check, an 11 MB publish fails naming the topic and the size, and nothing is sent', async () => {
    const plain = createPubSubBus(pubsub);
    const topic = unique('plain');
    const received: ReceivedMessage[] = [];
    await plain.subscribe(topic, unique('sub'), async (m) => void received.push(m));
    await expect(plain.publish(topic, [{ data: 'ok' }, { data: big }])).rejects.toMatchObject({
      code: 'message-too-large',
      message: expect.stringContaining(
        `message 1 published to "${topic}" has ${big.length} bytes of data, more than Pub/Sub's limit of 10000000`,
      ),
    });
    await sleep(1000);
    expect(received).toEqual([]);
    await plain.close();
  });
});
