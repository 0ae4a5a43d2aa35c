import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { loadTopology } from './generate.main';
import { kubernetes } from './kubernetes';
import { backlogRule, desiredReplicas, type BacklogScaling } from './services';

const rule = (scaling: Omit<BacklogScaling, 'kind'>, minReplicas = 1, maxReplicas = 50) => ({
  minReplicas,
  maxReplicas,
  scaling: { kind: 'backlog' as const, ...scaling },
});

describe('desiredReplicas: the backlog rule KEDA applies (HPA AverageValue semantics)', () => {
  const perFive = rule({ messagesPerReplica: 5 });

  it('given a backlog, then it asks for ceil(backlog / messagesPerReplica) replicas', () => {
    expect(desiredReplicas(perFive, { messages: 30 }, 1)).toBe(6);
    expect(desiredReplicas(perFive, { messages: 31 }, 1)).toBe(7);
    expect(desiredReplicas(perFive, { messages: 6 }, 1)).toBe(2);
  });

  it('given an empty or small backlog, then it keeps minReplicas', () => {
    expect(desiredReplicas(perFive, { messages: 0 }, 4)).toBe(1);
    expect(desiredReplicas(rule({ messagesPerReplica: 5 }, 2), { messages: 3 }, 4)).toBe(2);
  });

  it('given a large backlog, then it stops at maxReplicas', () => {
    expect(desiredReplicas(rule({ messagesPerReplica: 5 }, 1, 4), { messages: 1000 }, 1)).toBe(4);
  });

  it('given a backlog within 10 % of the target for the current count, then it keeps the count (HPA tolerance)', () => {
    // 4 replicas x 5 = 20: 21 is within 10 %, 23 is not
    expect(desiredReplicas(perFive, { messages: 21 }, 4)).toBe(4);
    expect(desiredReplicas(perFive, { messages: 19 }, 4)).toBe(4);
    expect(desiredReplicas(perFive, { messages: 23 }, 4)).toBe(5);
    expect(desiredReplicas(perFive, { messages: 14 }, 4)).toBe(3);
  });

  it('given an old unacked message, then the age trigger asks for ceil(age / oldestUnackedSeconds) and the larger ask wins', () => {
    const withAge = rule({ messagesPerReplica: 5, oldestUnackedSeconds: 120 });
    expect(desiredReplicas(withAge, { messages: 5, oldestUnackedSeconds: 400 }, 1)).toBe(4);
    expect(desiredReplicas(withAge, { messages: 40, oldestUnackedSeconds: 400 }, 1)).toBe(8);
    // the age is not read when the rule has no age trigger
    expect(desiredReplicas(perFive, { messages: 5, oldestUnackedSeconds: 400 }, 1)).toBe(1);
  });

  it('given the worker, then its rule comes from SERVICES and the api has no backlog rule', () => {
    expect(backlogRule('worker').scaling.messagesPerReplica).toBeGreaterThan(0);
    expect(() => backlogRule('api')).toThrow(
      'api scales on requests, not on a subscription backlog',
    );
  });

  // The rehearsal (test/cluster/autoscale.ts) applies desiredReplicas; the cluster applies the
  // generated ScaledObject. Both must ask for the same count for every backlog.
  it.each(['worker', 'executor', 'planner'] as const)(
    'given the generated ScaledObject of the %s, then the HPA over its triggers asks what desiredReplicas asks',
    (service) => {
      const manifests = kubernetes(loadTopology(), {
        project: 'p',
        registry: 'r',
        tag: 't',
        prometheus: 'http://prom',
      });
      const so = manifests.find(
        (m): m is ScaledObject =>
          m instanceof ScaledObject && m.metadata?.name === `almanac-${service}`,
      )!;
      // the HPA over the ScaledObject as KEDA hands it over: one AverageValue metric per trigger
      const hpa = (messages: number, age: number, current: number) => {
        const asks = so.spec.triggers.map((t) => {
          const target = Number(t.metadata.value);
          const metric = t.metadata.mode === 'OldestUnackedMessageAge' ? age : messages;
          return Math.abs(metric / (target * current) - 1) <= 0.1
            ? current
            : Math.ceil(metric / target);
        });
        return Math.min(so.spec.maxReplicaCount!, Math.max(so.spec.minReplicaCount!, ...asks));
      };
      for (const messages of [0, 1, 4, 5, 6, 17, 50, 99, 100, 101, 333, 5000])
        for (const age of [0, 30, 119, 121, 600])
          for (const current of [1, 2, 3, 7]) {
            expect([
              messages,
              age,
              current,
              desiredReplicas(
                backlogRule(service),
                { messages, oldestUnackedSeconds: age },
                current,
              ),
            ]).toEqual([messages, age, current, hpa(messages, age, current)]);
          }
    },
  );
});
