import { canonicalJson, NotSerializableError } from './canonical-json';

function errorOf(value: unknown): NotSerializableError {
  try {
    canonicalJson(value);
  } catch (e) {
    expect(e).toBeInstanceOf(NotSerializableError);
    expect((e as NotSerializableError).code).toBe('not-serializable');
    return e as NotSerializableError;
  }
  throw new Error('expected a NotSerializableError');
}

describe('canonicalJson', () => {
  it('sorts keys recursively, inside arrays too', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
  });

  it('drops undefined properties; undefined in an array is null as in JSON', () => {
    expect(canonicalJson({ a: undefined, b: null, c: [undefined, 1] })).toBe(
      '{"b":null,"c":[null,1]}',
    );
    expect(canonicalJson({ a: undefined })).toBe('{}');
  });

  it('prints numbers, strings and dates as JSON does', () => {
    expect(canonicalJson([1, -0, 1.5, 1e21, 0.1 + 0.2, 'a"\n\u2028', true, false, null])).toBe(
      JSON.stringify([1, -0, 1.5, 1e21, 0.1 + 0.2, 'a"\n\u2028', true, false, null]),
    );
    expect(canonicalJson({ at: new Date('2026-01-15T00:00:00Z') })).toBe(
      '{"at":"2026-01-15T00:00:00.000Z"}',
    );
    expect(canonicalJson({ 'a b': 1, é: 2 })).toBe('{"a b":1,"é":2}');
    expect(canonicalJson(Object.assign(Object.create(null), { y: 1, x: 2 }))).toBe('{"x":2,"y":1}');
  });

  it.each<[string, unknown, string]>([
    [
      'BigInt',
      { stats: { total: BigInt(1) } },
      'result is not JSON-serialisable at $.stats.total: BigInt',
    ],
    ['function', { f: () => 1 }, 'result is not JSON-serialisable at $.f: function'],
    [
      'function in array',
      { list: [1, () => 1] },
      'result is not JSON-serialisable at $.list[1]: function',
    ],
    ['symbol', { s: Symbol('x') }, 'result is not JSON-serialisable at $.s: Symbol'],
    ['NaN', { a: [{ v: NaN }] }, 'result is not JSON-serialisable at $.a[0].v: NaN'],
    ['Infinity', { v: Infinity }, 'result is not JSON-serialisable at $.v: Infinity'],
    ['-Infinity', { v: -Infinity }, 'result is not JSON-serialisable at $.v: -Infinity'],
    ['Map', { m: new Map() }, 'result is not JSON-serialisable at $.m: Map'],
    ['Set', { 'odd key': new Set() }, 'result is not JSON-serialisable at $["odd key"]: Set'],
    [
      'class instance',
      { x: new (class Foo {})() },
      'result is not JSON-serialisable at $.x: Foo instance',
    ],
    ['top-level undefined', undefined, 'result is not JSON-serialisable at $: undefined'],
  ])('rejects %s naming the path', (_label, value, message) => {
    expect(errorOf(value).message).toBe(message);
  });

  it('rejects circular references naming the path, but allows shared non-circular ones', () => {
    const a: Record<string, unknown> = { b: {} };
    (a.b as Record<string, unknown>).back = a;
    const e = errorOf({ a });
    expect(e.message).toBe('result is not JSON-serialisable: circular reference at $.a.b.back');
    expect(e.path).toBe('$.a.b.back');
    const arr: unknown[] = [];
    arr.push(arr);
    expect(errorOf(arr).message).toContain('circular reference at $[0]');
    const shared = { v: 1 };
    expect(canonicalJson({ x: shared, y: shared })).toBe('{"x":{"v":1},"y":{"v":1}}');
  });
});
