import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { topics } from '@almanac/contracts';
import { parseTopology } from './provision-pubsub';

const topologyFile = join(__dirname, '../../../../infra/pubsub/topology.json');
const topology = () => JSON.parse(readFileSync(topologyFile, 'utf8')) as Record<string, unknown>;

describe('infra/pubsub/topology.json', () => {
  it('lists exactly the contract topics and each service subscription with its dead-letter topic', () => {
    const parsed = parseTopology(topology());
    expect([...parsed.topics].sort()).toEqual(Object.values(topics).sort());
    expect(
      parsed.subscriptions.map((s) => [s.name, s.topic, s.deadLetterTopic, s.maxDeliveryAttempts]),
    ).toEqual([
      ['planner.runs', 'almanac.runs', 'planner.runs.dead-letter', 5],
      ['executor.passes', 'almanac.passes', 'executor.passes.dead-letter', 5],
      ['executor.batch-results', 'almanac.batch-results', 'executor.batch-results.dead-letter', 5],
      ['executor.computations', 'almanac.computations', 'executor.computations.dead-letter', 5],
      ['worker.batches', 'almanac.batches', 'worker.batches.dead-letter', 5],
      ['api.runs', 'almanac.runs', 'api.runs.dead-letter', 5],
      // the scheduler's backfills (libs/services/backfill)
      ['scheduler.backfill-runs', 'almanac.runs', 'scheduler.backfill-runs.dead-letter', 5],
      [
        'scheduler.backfill-computations',
        'almanac.computations',
        'scheduler.backfill-computations.dead-letter',
        5,
      ],
    ]);
  });
});

describe('parseTopology', () => {
  const base = {
    topics: ['almanac.runs'],
    subscriptions: [
      {
        name: 'planner.runs',
        topic: 'almanac.runs',
        deadLetterTopic: 'planner.runs.dead-letter',
        maxDeliveryAttempts: 5,
      },
    ],
  };
  const withSub = (patch: Record<string, unknown>) => ({
    ...base,
    subscriptions: [{ ...base.subscriptions[0], ...patch }],
  });

  it('accepts a valid topology', () => {
    expect(parseTopology(base)).toEqual(base);
  });

  it('names the subscription and the expected value for each broken reference', () => {
    expect(() => parseTopology(withSub({ topic: 'almanac.nope' }))).toThrow(
      'subscription "planner.runs": topic "almanac.nope" is not in topics (almanac.runs)',
    );
    expect(() => parseTopology(withSub({ deadLetterTopic: 'planner.dlq' }))).toThrow(
      'subscription "planner.runs": deadLetterTopic must be "planner.runs.dead-letter", not "planner.dlq"',
    );
    expect(() =>
      parseTopology({ ...base, subscriptions: [base.subscriptions[0], base.subscriptions[0]] }),
    ).toThrow('subscription "planner.runs" listed twice');
  });

  it('rejects what Pub/Sub rejects: attempts outside 5..100 and invalid names', () => {
    expect(() => parseTopology(withSub({ maxDeliveryAttempts: 3 }))).toThrow(
      'subscriptions.0.maxDeliveryAttempts: Too small: expected number to be >=5',
    );
    expect(() => parseTopology(withSub({ maxDeliveryAttempts: 101 }))).toThrow(
      'subscriptions.0.maxDeliveryAttempts: Too big: expected number to be <=100',
    );
    expect(() => parseTopology({ ...base, topics: ['goog-runs'] })).toThrow(
      'topics.0: not a valid Pub/Sub resource name',
    );
    expect(() => parseTopology({ ...base, topics: ['ab'] })).toThrow(
      'topics.0: not a valid Pub/Sub resource name',
    );
  });
});
