import type { HashParts } from '@almanac/contracts';
import {
  combineResultHashes,
  compositeHash,
  diffHashParts,
  EMPTY_RESULT_HASH,
  resultDigest,
  scopeDigest,
  sha256,
} from './hashes';

const parts: HashParts = {
  code: 'c1',
  epoch: '1',
  inputs: { orders: 'f1', users: 'f2' },
  dependencies: { MarketStats: 'r1', UserDailyActive: null },
  previous: null,
  scope: null,
};

describe('hashes', () => {
  it('sha256 is hex sha256', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('resultDigest ignores key order and undefined properties', () => {
    expect(resultDigest({ a: 1, b: { c: 2 } })).toBe(
      resultDigest({ b: { c: 2 }, a: 1, z: undefined }),
    );
    expect(resultDigest({ a: 1 })).toBe(sha256('{"a":1}'));
    expect(resultDigest({ a: 1 })).not.toBe(resultDigest({ a: 2 }));
  });

  describe('combineResultHashes', () => {
    const pairs: Array<[string, string]> = [
      ['u1', resultDigest({ v: 1 })],
      ['u2', resultDigest({ v: 2 })],
      ['u10', resultDigest({ v: 10 })],
    ];
    const base = combineResultHashes(pairs);

    it('does not depend on input order', () => {
      expect(combineResultHashes([pairs[2], pairs[0], pairs[1]])).toBe(base);
      expect(combineResultHashes(new Map([pairs[1], pairs[2], pairs[0]]))).toBe(base);
    });

    it('changes when any entity, digest, or the set of entities changes', () => {
      const variants = [
        [pairs[0], pairs[1], ['u10', resultDigest({ v: 11 })]],
        [pairs[0], pairs[1], ['u11', pairs[2][1]]],
        [pairs[0], pairs[1]],
        [...pairs, ['u3', resultDigest(null)]],
        // swapping results between entities keeps the multiset of digests but is a change
        [['u1', pairs[1][1]], ['u2', pairs[0][1]], pairs[2]],
      ] as Array<Array<[string, string]>>;
      const hashes = variants.map((v) => combineResultHashes(v));
      for (const h of hashes) expect(h).not.toBe(base);
      expect(new Set(hashes).size).toBe(variants.length);
    });

    it('is unambiguous for ids containing separators', () => {
      expect(combineResultHashes([['a:b', 'x']])).not.toBe(combineResultHashes([['a', 'b:x']]));
    });

    it('gives the documented fixed hash for an empty list', () => {
      expect(combineResultHashes([])).toBe(EMPTY_RESULT_HASH);
      expect(EMPTY_RESULT_HASH).toBe(
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      );
    });
  });

  it('compositeHash is the sha256 of the canonical parts and sees every part', () => {
    const h = compositeHash(parts);
    expect(compositeHash({ ...parts, inputs: { users: 'f2', orders: 'f1' } })).toBe(h);
    expect(compositeHash({ ...parts, previous: 'p' })).not.toBe(h);
    expect(
      compositeHash({ ...parts, dependencies: { MarketStats: 'r1', UserDailyActive: 'r2' } }),
    ).not.toBe(h);
  });

  it('scopeDigest ignores order and duplicates', () => {
    expect(scopeDigest(['b', 'a', 'b'])).toBe(scopeDigest(['a', 'b']));
    expect(scopeDigest(['a', 'b'])).toBe(sha256('["a","b"]'));
    expect(scopeDigest(['a'])).not.toBe(scopeDigest(['a', 'b']));
  });

  describe('diffHashParts', () => {
    it('returns [] without previous parts or when nothing changed', () => {
      expect(diffHashParts(null, parts)).toEqual([]);
      expect(diffHashParts(parts, { ...parts })).toEqual([]);
    });

    it('names code and epoch', () => {
      expect(diffHashParts(parts, { ...parts, code: 'c2', epoch: '2' })).toEqual(['code', 'epoch']);
    });

    it('names added, removed and changed inputs and dependencies', () => {
      expect(diffHashParts(parts, { ...parts, inputs: { orders: 'f9', prices: 'f3' } })).toEqual([
        'inputs.orders',
        'inputs.prices',
        'inputs.users',
      ]);
      expect(
        diffHashParts(parts, {
          ...parts,
          dependencies: { MarketStats: 'r1', UserDailyActive: 'r5' },
        }),
      ).toEqual(['dependencies.UserDailyActive']);
      expect(diffHashParts(parts, { ...parts, dependencies: { MarketStats: 'r1' } })).toEqual([
        'dependencies.UserDailyActive',
      ]);
    });

    it('names previous and scope, all in a fixed order', () => {
      expect(
        diffHashParts(parts, {
          ...parts,
          code: 'x',
          previous: 'p1',
          scope: 's1',
          inputs: { orders: 'f1' },
        }),
      ).toEqual(['code', 'inputs.users', 'previous', 'scope']);
    });
  });
});
