import fc from 'fast-check';
import { parseEnvelope } from '@almanac/contracts';
import { isValidDate } from '@almanac/kernel';
import {
  InvalidRunRequestError,
  newRunId,
  parseProjectConfig,
  runRequestedEvent,
  validateRunRequest,
  type LoadedProject,
} from '@almanac/platform';
import { RunRequestBody } from './api-schemas';

// Property tests: fast-check prints the seed and the shrunk counterexample when one fails.

const KNOWN = ['UserBand', 'OrderTotals'];
// validateRunRequest reads only the manifest's computation names
const project = {
  manifest: { entries: new Map(KNOWN.map((n) => [n, {}])) },
} as unknown as LoadedProject;
const config = parseProjectConfig({
  warehouse: { path: 'warehouse.duckdb' },
  tables: {},
  entities: { table: 'users', idField: 'user_id' },
});
const now = new Date('2026-06-01T12:00:00Z');

const date = fc.oneof(
  fc
    .integer({ min: 0, max: 2_932_896 })
    .map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10)),
  fc.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
  fc.string(),
);
/** bodies a client might send: the fields of POST /runs, well or badly typed, and unknown ones */
const body = fc.oneof(
  fc.record(
    {
      date: fc.oneof(date, fc.anything()),
      targets: fc.oneof(fc.array(fc.oneof(fc.constantFrom(...KNOWN), fc.string())), fc.anything()),
      entityIds: fc.oneof(fc.array(fc.string()), fc.anything()),
      force: fc.oneof(fc.boolean(), fc.anything()),
      forceUpstream: fc.oneof(fc.boolean(), fc.anything()),
      dryRun: fc.oneof(fc.boolean(), fc.anything()),
    },
    { requiredKeys: [] },
  ),
  fc
    .record({ date })
    .chain((b) =>
      fc
        .dictionary(fc.string(), fc.anything(), { maxKeys: 2 })
        .map((extra) => ({ ...extra, ...b })),
    ),
  fc.anything(),
);

describe('POST /runs body (property-based)', () => {
  it('accepts a date exactly when the run-request rules call it a calendar date', () => {
    fc.assert(
      fc.property(date, (d) => {
        expect(RunRequestBody.safeParse({ date: d }).success).toBe(isValidDate(d));
      }),
      { numRuns: 300 },
    );
  });

  it('any body the schema accepts is refused by the validator with a typed error, or appended as a valid RunRequested', () => {
    fc.assert(
      fc.property(body, fc.string(), (raw, principal) => {
        const parsed = RunRequestBody.safeParse(raw);
        if (!parsed.success) {
          expect(parsed.error.issues.length).toBeGreaterThan(0);
          return;
        }
        const request = { ...parsed.data, requestedBy: principal };
        let valid;
        try {
          valid = validateRunRequest(request, project, config, now);
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidRunRequestError);
          expect((e as Error).message).toMatch(/^invalid run request: \S/);
          return;
        }
        const event = runRequestedEvent(newRunId(now), now, valid, 'api');
        expect(parseEnvelope(JSON.parse(JSON.stringify(event)))).toEqual(event);
      }),
      { numRuns: 300 },
    );
  });
});
