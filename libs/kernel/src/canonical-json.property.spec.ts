import fc from 'fast-check';
import { canonicalJson, NotSerializableError } from './canonical-json';
import { combineResultHashes, resultDigest, scopeDigest, sha256 } from './hashes';

// Property tests: fast-check prints the seed and the shrunk counterexample when one fails.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The same value with every object's keys in another order (rotated by `n`, then reversed). */
function reorder(v: Json, n: number): Json {
  if (Array.isArray(v)) return v.map((x) => reorder(x, n));
  if (v === null || typeof v !== 'object') return v;
  const entries = Object.entries(v);
  const k = entries.length ? n % entries.length : 0;
  const rotated = [...entries.slice(k), ...entries.slice(0, k)].reverse();
  return Object.fromEntries(rotated.map(([key, x]) => [key, reorder(x, n)]));
}

/** Equal as JSON: key order aside, 0 and -0 alike (JSON writes both as 0). */
function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  const ka = Object.keys(a);
  return (
    ka.length === Object.keys(b).length &&
    ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]))
  );
}

const json = fc.jsonValue() as fc.Arbitrary<Json>;
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

describe('canonical JSON and hashes (property-based)', () => {
  it('key order changes neither the canonical form nor the hash', () => {
    fc.assert(
      fc.property(json, fc.nat(), (x, n) => {
        const y = reorder(x, n);
        expect(canonicalJson(y)).toBe(canonicalJson(x));
        expect(resultDigest(y)).toBe(resultDigest(x));
      }),
      { numRuns: 300 },
    );
  });

  it('is a fixed point: canonical(parse(canonical(x))) === canonical(x), and parses back to x as JSON does', () => {
    fc.assert(
      fc.property(json, (x) => {
        const text = canonicalJson(x);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        expect(jsonEqual(JSON.parse(text), JSON.parse(JSON.stringify(x)))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('different values give different canonical forms and hashes', () => {
    const pairs = fc.oneof(
      fc.tuple(json, json),
      // near misses: one more key, or the value wrapped
      json.chain((x) =>
        fc.tuple(
          fc.constant(x),
          fc.oneof(
            fc.string().map((k): Json => ({ [k]: x })),
            fc.constant<Json>([x]),
            fc.dictionary(fc.string(), json, { minKeys: 1 }).map((d): Json => ({ ...d, x })),
          ),
        ),
      ),
    );
    fc.assert(
      fc.property(
        pairs.filter(([a, b]) => !jsonEqual(a, b)),
        ([a, b]) => {
          expect(canonicalJson(a)).not.toBe(canonicalJson(b));
          expect(resultDigest(a)).not.toBe(resultDigest(b));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses what JSON would alter, naming the path (NaN, Infinity, BigInt, functions, Map)', () => {
    const bad = fc.constantFrom<unknown>(
      NaN,
      Infinity,
      -Infinity,
      1n,
      () => 1,
      new Map(),
      new Set(),
    );
    fc.assert(
      fc.property(fc.string(), fc.nat({ max: 3 }), bad, (key, i, b) => {
        const list: unknown[] = Array.from({ length: i + 1 }, (_, j) => (j === i ? b : j));
        const path = `$${IDENT.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}[${i}]`;
        try {
          canonicalJson({ [key]: list });
          throw new Error('accepted');
        } catch (e) {
          expect(e).toBeInstanceOf(NotSerializableError);
          expect((e as NotSerializableError).path).toBe(path);
          expect((e as Error).message).toContain(path);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('combineResultHashes does not depend on the order workers reported in', () => {
    const pair = fc.tuple(
      fc.string(),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
    );
    fc.assert(
      fc.property(
        fc
          .array(pair, { maxLength: 20 })
          .chain((ps) =>
            fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length })),
          ),
        ([ps, shuffled]) => {
          expect(combineResultHashes(shuffled)).toBe(combineResultHashes(ps));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('combineResultHashes tells apart ids however they are spelled', () => {
    const digest = sha256('x');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string(), { maxLength: 5 }),
        fc.uniqueArray(fc.string(), { maxLength: 5 }),
        (a, b) => {
          const same =
            a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
          fc.pre(!same);
          const h = (ids: string[]) =>
            combineResultHashes(ids.map((id): [string, string] => [id, digest]));
          expect(h(a)).not.toBe(h(b));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('scopeDigest ignores order and duplicates', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.string(), { maxLength: 10 })
          .chain((ids) =>
            fc.tuple(
              fc.constant(ids),
              fc.shuffledSubarray([...ids, ...ids], { minLength: ids.length * 2 }),
            ),
          ),
        ([ids, again]) => {
          expect(scopeDigest(again)).toBe(scopeDigest(ids));
        },
      ),
      { numRuns: 200 },
    );
  });
});
