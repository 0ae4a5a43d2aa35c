import fc from 'fast-check';
import { ConfigError, parseProjectConfig } from './project-config';

// Property tests: fast-check prints the seed and the shrunk counterexample when one fails.

const minimal = {
  warehouse: { path: 'warehouse.duckdb' },
  tables: {},
  entities: { table: 'users', idField: 'user_id' },
};
// `__proto__` is dropped by the parser (see the test of it below), so it is no name to keep
const name = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__');
const positive = fc.integer({ min: 1, max: 1_000_000 });
const date = fc
  .integer({ min: 0, max: 2_932_896 })
  .map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10));

/** valid optional sections, each with an arbitrary subset of its fields */
const sections = fc.record(
  {
    epoch: name,
    computationsDir: name,
    dataDir: name,
    execution: fc.record(
      {
        batchSize: positive,
        entityConcurrency: positive,
        maxInFlight: positive,
        workerConcurrency: positive,
        resultRetentionDays: fc.nat(),
        breaker: fc.record(
          {
            timeoutMs: positive,
            retries: fc.nat(),
            errorThresholdPercentage: fc.integer({ min: 1, max: 100 }),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
    dates: fc.record({ min: date, maxDaysAhead: fc.nat() }, { requiredKeys: [] }),
    settings: fc.dictionary(name, fc.jsonValue()),
    tables: fc.dictionary(
      name,
      fc.record({ entityField: name, dateField: name }, { requiredKeys: ['entityField'] }),
    ),
  },
  { requiredKeys: [] },
);

describe('parseProjectConfig (property-based)', () => {
  it('on anything, returns a config or throws ConfigError naming a path: never an untyped crash', () => {
    const raw = fc.oneof(
      fc.anything(),
      fc.dictionary(
        fc.constantFrom('warehouse', 'tables', 'entities', 'execution', 'dates', 'api', 'x'),
        fc.anything(),
      ),
      sections.chain((s) =>
        fc.anything().map((junk) => ({ ...minimal, ...s, [Object.keys(s)[0] ?? 'epoch']: junk })),
      ),
    );
    fc.assert(
      fc.property(raw, (r) => {
        try {
          parseProjectConfig(r);
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          // "<where>: invalid configuration: <path>: <problem>[; ...]", the path "(root)" at the top
          expect((e as Error).message).toMatch(
            /^almanac\.config\.ts: invalid configuration: \S.*: \S/s,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a minimal config with any valid optional sections parses, keeping what was given and filling the defaults', () => {
    fc.assert(
      fc.property(sections, (s) => {
        const config = parseProjectConfig({ ...minimal, ...s });
        expect(config).toMatchObject({ ...minimal, ...s });
        expect(config.execution.batchSize).toBe(s.execution?.batchSize ?? 1000);
        expect(config.execution.breaker.retries).toBe(s.execution?.breaker?.retries ?? 2);
        expect(config.dates).toEqual({ min: '1970-01-01', maxDaysAhead: 365, ...s.dates });
        expect(config.epoch).toBe(s.epoch ?? '1');
        expect(config.settings).toEqual(s.settings ?? {});
      }),
      { numRuns: 200 },
    );
  });
});

describe('parseProjectConfig: a "__proto__" key', () => {
  it('given settings with a "__proto__" key, then it is dropped and no prototype changes', () => {
    const raw = JSON.parse(
      '{"warehouse":{"path":"w.duckdb"},"tables":{},"entities":{"table":"users","idField":"user_id"},"settings":{"__proto__":{"polluted":true},"kept":1}}',
    ) as unknown;
    const config = parseProjectConfig(raw);
    expect(Object.keys(config.settings)).toEqual(['kept']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(config.settings)).toBe(Object.prototype);
  });
});
