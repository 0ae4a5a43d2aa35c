import { deadLetterTopic, type ReceivedMessage } from './bus.port';
import { busConformance } from './conformance/bus.conformance';
import { sleep, waitFor } from './conformance/wait-for';
import { createInProcessBus } from './in-process-bus';

busConformance('in-process', async () => {
  const bus = createInProcessBus();
  return { bus, cleanup: () => bus.close(), settle: () => bus.idle() };
});

describe('in-process bus', () => {
  it('delivers outside publish, so a handler that publishes never recurses (a 5,000-hop chain)', async () => {
    const bus = createInProcessBus();
    let publishing = false;
    const deliveredDuringPublish: boolean[] = [];
    let hops = 0;
    await bus.subscribe('chain', 'chain-sub', async (m) => {
      deliveredDuringPublish.push(publishing);
      hops++;
      const n = Number(m.data);
      if (n < 5000) {
        publishing = true;
        const pending = bus.publish('chain', [{ data: String(n + 1) }]);
        publishing = false;
        await pending;
      }
    });
    publishing = true;
    const first = bus.publish('chain', [{ data: '1' }]);
    publishing = false;
    await first;
    await bus.idle();
    expect(hops).toBe(5000);
    expect(deliveredDuringPublish.filter(Boolean)).toEqual([]);
    await bus.close();
  });

  it('shares a subscription between competing subscribers round-robin and reaches the default concurrency of 10', async () => {
    const bus = createInProcessBus();
    const a: string[] = [];
    const b: string[] = [];
    await bus.subscribe(
      't',
      'shared',
      async (m) => {
        await sleep(1);
        a.push(m.data);
      },
      { concurrency: 1 },
    );
    await bus.subscribe(
      't',
      'shared',
      async (m) => {
        await sleep(1);
        b.push(m.data);
      },
      { concurrency: 1 },
    );
    await bus.publish(
      't',
      Array.from({ length: 20 }, (_, i) => ({ data: `m${i}` })),
    );
    await bus.idle();
    expect(a).toHaveLength(10);
    expect(b).toHaveLength(10);

    let running = 0;
    let max = 0;
    await bus.subscribe('wide', 'wide-sub', async () => {
      max = Math.max(max, ++running);
      await sleep(10);
      running--;
    });
    await bus.publish(
      'wide',
      Array.from({ length: 30 }, (_, i) => ({ data: `w${i}` })),
    );
    await bus.idle();
    expect(max).toBe(10);
    await bus.close();
  });

  it('idle() waits for redeliveries, whose delay grows linearly with the attempt', async () => {
    const bus = createInProcessBus({ redeliveryDelayMs: 40 });
    const at: number[] = [];
    await bus.subscribe('t', 's', async (m) => {
      at.push(performance.now());
      if (m.deliveryAttempt < 3) throw new Error('again');
    });
    await bus.publish('t', [{ data: 'x' }]);
    await bus.idle();
    expect(at).toHaveLength(3);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(38);
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(78);
    await bus.close();
  });

  it('dead-letters after one attempt when maxDeliveryAttempts is 1, with a non-Error reason', async () => {
    const bus = createInProcessBus();
    const dead: ReceivedMessage[] = [];
    await bus.subscribe(deadLetterTopic('s'), 'dlq', async (m) => void dead.push(m));
    let attempts = 0;
    await bus.subscribe(
      't',
      's',
      async () => {
        attempts++;
        throw 'plain string';
      },
      { maxDeliveryAttempts: 1 },
    );
    await bus.publish('t', [{ data: 'x', attributes: { k: 'v' } }]);
    await bus.idle();
    expect(attempts).toBe(1);
    expect(dead.map((m) => [m.data, m.attributes])).toEqual([
      ['x', { k: 'v', deadLetterReason: 'plain string', deliveryAttempts: '1' }],
    ]);
    expect(deadLetterTopic('s')).toBe('s.dead-letter');
    await bus.close();
  });

  it('keeps messages for a subscription without subscribers until one subscribes, without holding idle()', async () => {
    const bus = createInProcessBus();
    const first: string[] = [];
    const sub = await bus.subscribe('t', 'durable', async (m) => void first.push(m.data));
    await sub.close();
    await bus.publish('t', [{ data: 'while-away' }]);
    await bus.idle(); // resolves: nobody is there to handle it
    expect(first).toEqual([]);
    const later: string[] = [];
    await bus.subscribe('t', 'durable', async (m) => void later.push(m.data));
    await waitFor(() => later.length === 1, 2000, 'redelivery to the new subscriber');
    expect(later).toEqual(['while-away']);
    await bus.close();
  });

  it('carries 20,000 messages through, every one handled', async () => {
    const bus = createInProcessBus();
    let handled = 0;
    await bus.subscribe('t', 's', async () => {
      handled++;
    });
    for (let i = 0; i < 20; i++) {
      await bus.publish(
        't',
        Array.from({ length: 1000 }, (_, j) => ({ data: `${i}-${j}` })),
      );
    }
    await bus.idle();
    // speed is measured by benchmarks (machines here are noisy), not asserted in a test
    expect(handled).toBe(20_000);
    await bus.close();
  });

  it('rejects wrong use with typed errors naming what to change', async () => {
    const bus = createInProcessBus();
    await bus.subscribe('t', 's', async () => undefined);
    await expect(bus.subscribe('other', 's', async () => undefined)).rejects.toThrow(
      'subscription "s" already exists on topic "t", not "other": use another subscription name',
    );
    await expect(
      bus.subscribe('t', 's2', async () => undefined, { concurrency: 0 }),
    ).rejects.toMatchObject({
      code: 'invalid-subscribe-option',
      message: 'invalid concurrency 0: expected an integer >= 1',
    });
    await bus.close();
    await expect(bus.publish('t', [{ data: 'x' }])).rejects.toThrow(
      'bus is closed: cannot publish to "t"',
    );
    await expect(bus.subscribe('t', 's3', async () => undefined)).rejects.toMatchObject({
      code: 'bus-closed',
    });
  });

  it('close() stops every subscription, waits for handlers in flight and cancels pending redeliveries', async () => {
    const bus = createInProcessBus({ redeliveryDelayMs: 50 });
    const seen: string[] = [];
    let finished = 0;
    await bus.subscribe('t', 'slow', async (m) => {
      seen.push(`slow:${m.data}`);
      await sleep(50);
      finished++;
    });
    await bus.subscribe('t', 'failing', async (m) => {
      seen.push(`failing:${m.data}:${m.deliveryAttempt}`);
      throw new Error('no');
    });
    await bus.publish('t', [{ data: 'x' }]);
    await waitFor(() => seen.length === 2, 2000, 'both handlers started');
    await bus.close();
    expect(finished).toBe(1);
    await sleep(150);
    expect(seen.sort()).toEqual(['failing:x:1', 'slow:x']);
    await bus.idle();
  });
});
