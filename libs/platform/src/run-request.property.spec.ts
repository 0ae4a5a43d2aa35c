import fc from 'fast-check';
import { GLOBAL_ENTITY, parseEnvelope } from '@almanac/contracts';
import type { LoadedProject } from './load-computations';
import { parseProjectConfig, type ProjectConfig } from './project-config';
import {
  idempotentRunId,
  InvalidRunRequestError,
  newRunId,
  runRequestedEvent,
  validateRunRequest,
  type RunRequest,
} from './run-request';

// Property tests: fast-check prints the seed and the shrunk counterexample when one fails.

const DAY_MS = 86_400_000;
const KNOWN = ['UserBand', 'OrderTotals', 'DailyVolume'];
// validateRunRequest reads only the manifest's computation names
const project = {
  manifest: { entries: new Map(KNOWN.map((n) => [n, {}])) },
} as unknown as LoadedProject;

const FIRST = Date.parse('0000-01-01T00:00:00Z');
const LAST = Date.parse('9999-12-31T00:00:00Z');
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const dayMs = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

const configWith = (min: string, maxDaysAhead: number): ProjectConfig =>
  parseProjectConfig({
    warehouse: { path: 'warehouse.duckdb' },
    tables: {},
    entities: { table: 'users', idField: 'user_id' },
    dates: { min, maxDaysAhead },
  });

/** now, from 1970 to 9999 */
const now = fc.date({
  min: new Date('1970-01-01T00:00:00Z'),
  max: new Date('9999-12-31T23:59:59Z'),
  noInvalidDate: true,
});
/** small windows mostly, and any nonnegative integer the config schema accepts */
const maxDaysAhead = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.nat(), fc.maxSafeNat());
const calendarDate = fc
  .integer({ min: FIRST / DAY_MS, max: LAST / DAY_MS })
  .map((d) => day(d * DAY_MS));

/** an entity id the rules accept: 1-256 characters, no control character, not trimmed, not _global */
const validEntityId = fc
  .string({
    unit: fc.oneof(
      fc.constantFrom('a', 'Z', '7', '-', ':', ' ', 'é'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    ),
    minLength: 1,
    maxLength: 80,
  })
  .filter(
    (s) =>
      s !== GLOBAL_ENTITY &&
      s.trim() === s &&
      ![...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f),
  );

const anyRequest: fc.Arbitrary<RunRequest> = fc.record(
  {
    date: fc.oneof(calendarDate, fc.string(), fc.stringMatching(/^\d{4}-\d{2}-\d{2}$/)),
    targets: fc.array(fc.oneof(fc.constantFrom(...KNOWN), fc.string())),
    entityIds: fc.array(fc.oneof(validEntityId, fc.string(), fc.constant(GLOBAL_ENTITY))),
    force: fc.boolean(),
    forceUpstream: fc.boolean(),
    dryRun: fc.boolean(),
    requestedBy: fc.string(),
  },
  { requiredKeys: ['date'] },
);

/** a config, a clock and a request the rules accept: a date from dates.min to today + maxDaysAhead */
const validCase = fc
  .record({ now, maxDaysAhead, minBack: fc.integer({ min: 0, max: 40_000 }) })
  .chain(({ now, maxDaysAhead, minBack }) => {
    const today = dayMs(now.getTime());
    const min = Math.max(FIRST, today - minBack * DAY_MS);
    const max = Math.min(LAST, today + maxDaysAhead * DAY_MS);
    return fc.record({
      now: fc.constant(now),
      config: fc.constant(configWith(day(min), maxDaysAhead)),
      request: fc.record(
        {
          date: fc.integer({ min: min / DAY_MS, max: max / DAY_MS }).map((d) => day(d * DAY_MS)),
          targets: fc.subarray(KNOWN),
          entityIds: fc.array(validEntityId, { maxLength: 5 }),
          force: fc.boolean(),
          dryRun: fc.boolean(),
          requestedBy: fc.string(),
        },
        { requiredKeys: ['date'] },
      ),
    });
  });

describe('run requests (property-based)', () => {
  it('nothing invalid reaches the log: a request is refused with a typed error, or its RunRequested parses and survives the log', () => {
    fc.assert(
      fc.property(
        anyRequest,
        now,
        fc.option(calendarDate, { nil: undefined }),
        maxDaysAhead,
        (request, at, min, ahead) => {
          const config = configWith(min ?? '1970-01-01', ahead);
          let valid;
          try {
            valid = validateRunRequest(request, project, config, at);
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidRunRequestError);
            const err = e as InvalidRunRequestError;
            expect(err.issues.length).toBeGreaterThan(0);
            expect(err.message).toMatch(/^invalid run request: \S/);
            return;
          }
          const runId = newRunId(at);
          const event = runRequestedEvent(runId, at, valid, 'api');
          // what the log stores is JSON; reading it back gives the same event
          expect(parseEnvelope(JSON.parse(JSON.stringify(event)))).toEqual(event);
          expect(event.payload).toMatchObject({ runId, date: request.date });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('nothing valid is refused: a calendar date in range, known computations, valid entity ids', () => {
    fc.assert(
      fc.property(validCase, ({ now, config, request }) => {
        const valid = validateRunRequest(request, project, config, now);
        const event = runRequestedEvent(newRunId(now), now, valid, 'cli');
        expect(parseEnvelope(event)).toEqual(event);
      }),
      { numRuns: 300 },
    );
  });

  it('newRunId: well-formed, and ordered as the times it was made at (a second apart or more)', () => {
    fc.assert(
      fc.property(now, now, (a, b) => {
        const [ra, rb] = [newRunId(a), newRunId(b)];
        expect(ra).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
        if (Math.floor(a.getTime() / 1000) < Math.floor(b.getTime() / 1000))
          expect(ra < rb).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('idempotentRunId: the same for the same (principal, key), different for different ones', () => {
    const key = fc.stringMatching(/^[\x20-\x7e]{1,255}$/);
    fc.assert(
      fc.property(fc.string(), key, fc.string(), key, (p1, k1, p2, k2) => {
        expect(idempotentRunId(p1, k1)).toBe(idempotentRunId(p1, k1));
        if (p1 !== p2 || k1 !== k2)
          expect(idempotentRunId(p1, k1)).not.toBe(idempotentRunId(p2, k2));
      }),
      { numRuns: 200 },
    );
  });
});
