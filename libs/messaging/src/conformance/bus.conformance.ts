import { type Bus, type ReceivedMessage, deadLetterTopic } from '../bus.port';
import { sleep, waitFor } from './wait-for';

export interface BusFixture {
  bus: Bus;
  cleanup(): Promise<void>;
  /** waits until deliveries are done (in-process: idle(); emulator: a generous quiet period) */
  settle(): Promise<void>;
}

/** How long a test waits for something that should happen, and for something that should not. */
const WAIT_MS = 20_000;
const QUIET_MS = 300;

let counter = 0;
/** Fresh names per test, so that adapters backed by a shared emulator do not see other tests' messages. */
const unique = (label: string) =>
  `conf-${label}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

/**
 * The at-least-once contract every Bus adapter must keep, as one Jest `describe` block. Run it
 * unchanged against each adapter: `busConformance('in-process', async () => ({ bus, cleanup, settle }))`.
 */
export function busConformance(name: string, factory: () => Promise<BusFixture>): void {
  describe(`Bus conformance: ${name}`, () => {
    let fixture: BusFixture;
    let bus: Bus;

    beforeEach(async () => {
      fixture = await factory();
      bus = fixture.bus;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    const quiet = async () => {
      await fixture.settle();
      await sleep(QUIET_MS);
    };
    const byData = (a: ReceivedMessage, b: ReceivedMessage) => a.data.localeCompare(b.data);

    it('delivers data, attributes and the published ids, only for messages published after subscribing', async () => {
      const topic = unique('topic');
      await bus.publish(topic, [{ data: 'before-subscribing' }]);
      const received: ReceivedMessage[] = [];
      const sub = await bus.subscribe(topic, unique('sub'), async (m) => {
        received.push(m);
      });

      const ids = await bus.publish(topic, [
        { data: '{"n":1}', attributes: { type: 'RunRequested', eventId: 'RunRequested:r1' } },
        { data: '{"n":2}' },
      ]);
      expect(ids).toHaveLength(2);
      expect(new Set(ids).size).toBe(2);
      ids.forEach((id) => expect(typeof id).toBe('string'));

      await waitFor(() => received.length >= 2, WAIT_MS, '2 messages received');
      await quiet();
      expect(received.sort(byData)).toEqual([
        {
          id: ids[0],
          data: '{"n":1}',
          attributes: { type: 'RunRequested', eventId: 'RunRequested:r1' },
          deliveryAttempt: 1,
          publishTime: expect.any(String),
        },
        {
          id: ids[1],
          data: '{"n":2}',
          attributes: {},
          deliveryAttempt: 1,
          publishTime: expect.any(String),
        },
      ]);
      await sub.close();
    });

    it('stamps each message with its publish time, kept on redelivery (the lag on receipt)', async () => {
      const topic = unique('topic');
      const received: Array<{ publishTime?: string; at: number }> = [];
      const sub = await bus.subscribe(topic, unique('sub'), async (m) => {
        received.push({ publishTime: m.publishTime, at: Date.now() });
        if (m.deliveryAttempt === 1) throw new Error('again');
      });
      const before = Date.now();
      await bus.publish(topic, [{ data: 'timed' }]);
      await waitFor(() => received.length >= 2, WAIT_MS, 'a redelivery');
      await sub.close();
      const [first, second] = received;
      const published = Date.parse(first.publishTime ?? '');
      // the emulator's clock is this machine's; a second of slack for its rounding
      expect(published).toBeGreaterThanOrEqual(before - 1000);
      expect(published).toBeLessThanOrEqual(first.at);
      expect(second.publishTime).toBe(first.publishTime);
    });

    it('fans every message out to each subscription of the topic', async () => {
      const topic = unique('topic');
      const a: string[] = [];
      const b: string[] = [];
      const subA = await bus.subscribe(topic, unique('a'), async (m) => void a.push(m.data));
      const subB = await bus.subscribe(topic, unique('b'), async (m) => void b.push(m.data));
      await bus.publish(topic, [{ data: 'm1' }, { data: 'm2' }, { data: 'm3' }]);

      await waitFor(() => a.length >= 3 && b.length >= 3, WAIT_MS, 'both subscriptions received 3');
      await quiet();
      expect(a.sort()).toEqual(['m1', 'm2', 'm3']);
      expect(b.sort()).toEqual(['m1', 'm2', 'm3']);
      await subA.close();
      await subB.close();
    });

    it('gives each message to one of the competing subscribers of one subscription', async () => {
      const topic = unique('topic');
      const subscription = unique('shared');
      const first: string[] = [];
      const second: string[] = [];
      const s1 = await bus.subscribe(topic, subscription, async (m) => {
        await sleep(5);
        first.push(m.data);
      });
      const s2 = await bus.subscribe(topic, subscription, async (m) => {
        await sleep(5);
        second.push(m.data);
      });
      const sent = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}`);
      await bus.publish(
        topic,
        sent.map((data) => ({ data })),
      );

      await waitFor(() => first.length + second.length >= 20, WAIT_MS, '20 messages handled');
      await quiet();
      expect([...first, ...second].sort()).toEqual(sent);
      await s1.close();
      await s2.close();
    });

    it('redelivers a failing message with a growing deliveryAttempt and acks it once it succeeds', async () => {
      const topic = unique('topic');
      const subscription = unique('flaky');
      const attempts: number[] = [];
      const handled: string[] = [];
      const dead: ReceivedMessage[] = [];
      const dlq = await bus.subscribe(deadLetterTopic(subscription), unique('dlq'), async (m) => {
        dead.push(m);
      });
      const sub = await bus.subscribe(
        topic,
        subscription,
        async (m) => {
          attempts.push(m.deliveryAttempt);
          if (m.deliveryAttempt < 3) throw new Error(`transient failure ${m.deliveryAttempt}`);
          handled.push(m.data);
        },
        { maxDeliveryAttempts: 5 },
      );
      await bus.publish(topic, [{ data: 'flaky' }]);

      await waitFor(() => handled.length >= 1, WAIT_MS, 'the message handled');
      await quiet();
      expect(attempts).toEqual([1, 2, 3]);
      expect(handled).toEqual(['flaky']);
      expect(dead).toEqual([]);
      await sub.close();
      await dlq.close();
    });

    it('sends a message that always fails to the dead-letter topic after maxDeliveryAttempts and keeps serving', async () => {
      const topic = unique('topic');
      const subscription = unique('poison');
      const attempts: number[] = [];
      const handled: string[] = [];
      const dead: ReceivedMessage[] = [];
      const dlq = await bus.subscribe(deadLetterTopic(subscription), unique('dlq'), async (m) => {
        dead.push(m);
      });
      const sub = await bus.subscribe(
        topic,
        subscription,
        async (m) => {
          if (m.data === 'poison') {
            attempts.push(m.deliveryAttempt);
            throw new Error(`cannot parse "${m.data}"`);
          }
          handled.push(m.data);
        },
        { maxDeliveryAttempts: 5 },
      );
      await bus.publish(topic, [
        { data: 'poison', attributes: { type: 'Broken' } },
        { data: 'good' },
      ]);

      await waitFor(() => dead.length >= 1, WAIT_MS, 'the poison message dead-lettered');
      await bus.publish(topic, [{ data: 'after' }]);
      await waitFor(() => handled.length >= 2, WAIT_MS, 'the other messages handled');
      await quiet();

      expect(attempts).toEqual([1, 2, 3, 4, 5]);
      expect(dead).toHaveLength(1);
      expect(dead[0].data).toBe('poison');
      expect(dead[0].attributes).toMatchObject({
        type: 'Broken',
        deadLetterReason: 'cannot parse "poison"',
        deliveryAttempts: '5',
      });
      expect(handled.sort()).toEqual(['after', 'good']);
      await sub.close();
      await dlq.close();
    });

    it('never runs more handlers at once than the subscription concurrency', async () => {
      const topic = unique('topic');
      let running = 0;
      let maxRunning = 0;
      const handled: string[] = [];
      const sub = await bus.subscribe(
        topic,
        unique('bounded'),
        async (m) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await sleep(40);
          running--;
          handled.push(m.data);
        },
        { concurrency: 3 },
      );
      await bus.publish(
        topic,
        Array.from({ length: 12 }, (_, i) => ({ data: `m${i}` })),
      );

      await waitFor(() => handled.length >= 12, WAIT_MS, '12 messages handled');
      await quiet();
      expect(handled).toHaveLength(12);
      expect(maxRunning).toBeLessThanOrEqual(3);
      expect(maxRunning).toBeGreaterThan(1);
      await sub.close();
    });

    it('stops delivering after close, and close waits for the handlers in flight', async () => {
      const topic = unique('topic');
      const handled: string[] = [];
      let started = 0;
      const sub = await bus.subscribe(topic, unique('closing'), async (m) => {
        started++;
        await sleep(100);
        handled.push(m.data);
      });
      await bus.publish(topic, [{ data: 'm1' }]);
      await waitFor(() => started >= 1, WAIT_MS, 'the handler started');

      await sub.close();
      expect(handled).toEqual(['m1']);

      await bus.publish(topic, [{ data: 'm2' }]);
      await quiet();
      expect(started).toBe(1);
      expect(handled).toEqual(['m1']);
    });
  });
}
