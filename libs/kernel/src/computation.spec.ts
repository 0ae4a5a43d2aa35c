import {
  Computation,
  type ComputationContext,
  type LogLine,
  isComputationClass,
  runWithLogContext,
} from './computation';

class Greeter extends Computation {
  static override getConfig() {
    return { name: 'Greeter', type: 'per-entity' } as const;
  }
  async process(ctx: ComputationContext) {
    await new Promise((r) => setTimeout(r, ctx.entityId === 'e1' ? 20 : 1));
    this.log('INFO', `hello ${ctx.entityId}`);
    return { id: ctx.entityId };
  }
}

function ctxFor(entityId: string): ComputationContext {
  return {
    date: '2026-01-15',
    entityId,
    data: {},
    previousResult: null,
    config: {},
    references: {},
    rules: {},
    getDependency: () => null,
  };
}

describe('Computation', () => {
  it('tags log lines with the computation and the entity, even when entities interleave', async () => {
    const lines: LogLine[] = [];
    const instance = new Greeter();
    const results = await Promise.all(
      ['e1', 'e2'].map((id) =>
        runWithLogContext(
          { computation: 'Greeter', entityId: id, sink: (l) => lines.push(l) },
          () => instance.process(ctxFor(id)),
        ),
      ),
    );
    expect(results).toEqual([{ id: 'e1' }, { id: 'e2' }]);
    expect(lines).toEqual([
      { level: 'INFO', computation: 'Greeter', entityId: 'e2', message: 'hello e2' },
      { level: 'INFO', computation: 'Greeter', entityId: 'e1', message: 'hello e1' },
    ]);
  });

  it('writes "[Name] message" to stderr outside a log context', async () => {
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await new Greeter().process(ctxFor('e9'));
      expect(spy).toHaveBeenCalledWith('[Greeter] hello e9\n');
    } finally {
      spy.mockRestore();
    }
  });

  it('recognises computation classes, including duck-typed ones', () => {
    class Duck {
      static getConfig() {
        return { name: 'Duck', type: 'global' };
      }
      async process() {
        return null;
      }
    }
    expect(isComputationClass(Greeter)).toBe(true);
    expect(isComputationClass(Duck)).toBe(true);
    expect(isComputationClass(Computation)).toBe(false);
    expect(isComputationClass(class NoConfig {})).toBe(false);
    expect(isComputationClass({ getConfig() {}, prototype: { process() {} } })).toBe(false);
    expect(isComputationClass(null)).toBe(false);
  });
});
