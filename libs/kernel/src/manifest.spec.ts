import { Computation, type ComputationClass } from './computation';
import { buildManifest, selectComputations } from './manifest';
import { ManifestError } from './manifest-error';

function comp(
  name: string,
  dependencies: string[] = [],
  extra: Record<string, unknown> = {},
): ComputationClass {
  return class extends Computation {
    static override getConfig() {
      return { name, type: 'per-entity', dependencies, ...extra };
    }
    async process() {
      return null;
    }
  };
}

function defs(spec: Record<string, string[]>) {
  return Object.entries(spec).map(([name, deps]) => ({
    ctor: comp(name, deps),
    file: `computations/${name}.ts`,
  }));
}

function errorOf(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    return e as ManifestError;
  }
  throw new Error('expected a ManifestError');
}

describe('buildManifest', () => {
  it('assigns passes for a diamond', () => {
    const m = buildManifest(defs({ D: ['B', 'C'], C: ['A'], B: ['A'], A: [] }));
    expect(m.passes).toEqual([['A'], ['B', 'C'], ['D']]);
    expect(m.entries.get('D')!.pass).toBe(2);
    expect(m.entries.get('D')!.file).toBe('computations/D.ts');
    expect(m.entries.get('D')!.config.type).toBe('per-entity');
  });

  it('assigns passes for a 3-chain plus an independent one, and by the longest path', () => {
    const m = buildManifest(defs({ Z: ['Y'], Y: ['X'], X: [], Solo: [], Late: ['X', 'Z'] }));
    expect(m.passes).toEqual([['Solo', 'X'], ['Y'], ['Z'], ['Late']]);
  });

  it('prints the cycle path', () => {
    const e = errorOf(() => buildManifest(defs({ A: ['B'], B: ['C'], C: ['A'], D: ['A'] })));
    expect(e.code).toBe('cycle');
    expect(e.message).toBe('dependency cycle: A -> B -> C -> A');
    expect(e.details.cycle).toEqual(['A', 'B', 'C', 'A']);
  });

  it('prints a cycle reached only through a non-cycle node, starting at its smallest name', () => {
    const e = errorOf(() => buildManifest(defs({ Entry: ['Q'], Q: ['P'], P: ['Q'] })));
    expect(e.message).toBe('dependency cycle: P -> Q -> P');
  });

  it('treats a self-dependency as a cycle', () => {
    const e = errorOf(() => buildManifest(defs({ A: ['A'] })));
    expect(e.code).toBe('cycle');
    expect(e.message).toBe('dependency cycle: A -> A');
  });

  it('names an unknown dependency with the closest name', () => {
    const e = errorOf(() => buildManifest(defs({ Users: [], A: ['Userz'] })));
    expect(e.code).toBe('unknown-dependency');
    expect(e.message).toBe(
      'computation "A" depends on unknown computation "Userz" (did you mean "Users"?)',
    );
  });

  it('omits the hint when nothing is close', () => {
    const e = errorOf(() => buildManifest(defs({ Users: [], A: ['MarketStats'] })));
    expect(e.message).toBe('computation "A" depends on unknown computation "MarketStats"');
  });

  it('rejects a duplicate name naming both files', () => {
    const e = errorOf(() =>
      buildManifest([
        { ctor: comp('A'), file: 'computations/a.ts' },
        { ctor: comp('A'), file: 'computations/a-copy.ts' },
      ]),
    );
    expect(e.code).toBe('duplicate-name');
    expect(e.message).toBe(
      'duplicate computation name "A" in computations/a.ts and computations/a-copy.ts',
    );
  });

  it('surfaces an invalid config with the computation name', () => {
    const e = errorOf(() =>
      buildManifest([{ ctor: comp('A', [], { ttlDays: 'forever' }), file: 'a.ts' }]),
    );
    expect(e.code).toBe('invalid-config');
    expect(e.message).toBe(
      'computation "A": invalid config: ttlDays: expected number, received string',
    );
  });
});

describe('selectComputations', () => {
  const m = buildManifest(
    defs({ D: ['B', 'C'], C: ['A'], B: ['A'], A: [], Other: [], Leaf: ['Other'] }),
  );

  it('selects everything, ordered by (pass, name), for no targets', () => {
    expect(selectComputations(m, [])).toEqual(['A', 'Other', 'B', 'C', 'Leaf', 'D']);
  });

  it('includes the transitive dependencies of the targets', () => {
    expect(selectComputations(m, ['D'])).toEqual(['A', 'B', 'C', 'D']);
    expect(selectComputations(m, ['B', 'Leaf'])).toEqual(['A', 'Other', 'B', 'Leaf']);
    expect(selectComputations(m, ['A'])).toEqual(['A']);
  });

  it('rejects an unknown target with the closest names', () => {
    const e = errorOf(() => selectComputations(m, ['Lef']));
    expect(e.code).toBe('unknown-computation');
    expect(e.message).toBe('unknown computation "Lef" (did you mean "Leaf"?)');
    expect(e.details.suggestions).toEqual(['Leaf']);
  });
});
