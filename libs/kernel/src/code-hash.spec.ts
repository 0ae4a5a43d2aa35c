import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CodeHashCache, CodeHashError, computeCodeHash } from './code-hash';

const FILES: Record<string, string> = {
  'computations/user-stats.ts': `import { Computation } from '@almanac/kernel';
import { z } from 'zod';
import { summarise } from './shared/layer';

// per-entity statistics
export class UserStats extends Computation {
  static getConfig() {
    return { name: 'UserStats', type: 'per-entity' } as const;
  }
  async process() {
    return summarise([1, 2, 3], z.number());
  }
}
`,
  'computations/shared/layer.ts': `import { threshold } from '../rules/x';
export function summarise(values: number[], _schema: unknown): number {
  return values.filter((v) => v > threshold()).length;
}
`,
  'computations/rules/x.ts': `export function threshold(): number {
  return 1;
}
`,
  'computations/unrelated.ts': `export const unrelated = 42;
`,
};

function writeProject(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
}

describe('computeCodeHash', () => {
  let root: string;
  const hashOf = async (dir = root) =>
    (await computeCodeHash('computations/user-stats.ts', dir)).hash;
  const edit = (rel: string, from: string, to: string) => {
    const file = path.join(root, rel);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain(from);
    fs.writeFileSync(file, text.replace(from, to));
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-codehash-'));
    writeProject(root, FILES);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('covers the local import closure only, with POSIX paths relative to the root', async () => {
    const h = await computeCodeHash(path.join(root, 'computations/user-stats.ts'), root);
    expect(h.files.map((f) => f.path)).toEqual([
      'computations/rules/x.ts',
      'computations/shared/layer.ts',
      'computations/user-stats.ts',
    ]);
    expect(h.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashOf()).toBe(h.hash);
  });

  it('keeps @almanac/* external even where tsconfig paths map it to a local file', async () => {
    writeProject(root, {
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          baseUrl: '.',
          paths: { '@almanac/kernel': ['libs/kernel/src/index.ts'] },
        },
      }),
      'libs/kernel/src/index.ts': 'export class Computation {}\n',
    });
    const h = await computeCodeHash('computations/user-stats.ts', root);
    expect(h.files.map((f) => f.path)).not.toContain('libs/kernel/src/index.ts');
    expect(h.files).toHaveLength(3);
  });

  it('ignores comment-only and whitespace-only changes', async () => {
    const before = await hashOf();
    edit(
      'computations/user-stats.ts',
      '// per-entity statistics',
      '/* a different comment */\n\n// and another',
    );
    edit(
      'computations/shared/layer.ts',
      'return values',
      '   // why: explained\n    return   values',
    );
    edit('computations/rules/x.ts', 'return 1;', 'return 1 ; /* one */');
    expect(await hashOf()).toBe(before);
  });

  it('changes with code in the computation, its layer, or a module two levels deep', async () => {
    const base = await hashOf();
    edit('computations/rules/x.ts', 'return 1;', 'return 2;');
    const deep = await hashOf();
    expect(deep).not.toBe(base);
    edit('computations/shared/layer.ts', 'v > threshold()', 'v >= threshold()');
    const layer = await hashOf();
    expect(layer).not.toBe(deep);
    edit('computations/user-stats.ts', '[1, 2, 3]', '[1, 2, 3, 4]');
    expect(await hashOf()).not.toBe(layer);
  });

  it('ignores a change in an unrelated file', async () => {
    const before = await hashOf();
    edit('computations/unrelated.ts', '42', '43');
    expect(await hashOf()).toBe(before);
  });

  it('is stable when the whole project moves to another directory', async () => {
    const before = await computeCodeHash('computations/user-stats.ts', root);
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-codehash-moved-'));
    try {
      const moved = path.join(other, 'deeper', 'checkout');
      fs.mkdirSync(path.dirname(moved), { recursive: true });
      fs.renameSync(root, moved);
      fs.mkdirSync(root);
      expect(await computeCodeHash('computations/user-stats.ts', moved)).toEqual(before);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('normalises each shared file once with a cache, and notices an edit', async () => {
    writeProject(root, {
      'computations/other.ts': `import { summarise } from './shared/layer';\nexport const o = summarise([], null);\n`,
    });
    const cache = new CodeHashCache();
    const [a, b] = await Promise.all([
      computeCodeHash('computations/user-stats.ts', root, cache),
      computeCodeHash('computations/other.ts', root, cache),
    ]);
    expect(a.hash).toBe(await hashOf());
    expect(b.files.map((f) => f.path)).toEqual([
      'computations/other.ts',
      'computations/rules/x.ts',
      'computations/shared/layer.ts',
    ]);
    // 4 distinct files across 6 look-ups
    expect([cache.misses, cache.hits]).toEqual([4, 2]);
    edit('computations/rules/x.ts', 'return 1;', 'return 100;');
    const after = await computeCodeHash('computations/user-stats.ts', root, cache);
    expect(after.hash).not.toBe(a.hash);
    expect(after.hash).toBe(await hashOf());
  });

  it('names the file of a syntax error', async () => {
    edit('computations/shared/layer.ts', 'return values', 'return values ((');
    await expect(computeCodeHash('computations/user-stats.ts', root)).rejects.toThrow(
      CodeHashError,
    );
    await expect(computeCodeHash('computations/user-stats.ts', root)).rejects.toThrow(
      /^cannot hash computations\/user-stats\.ts: computations\/shared\/layer\.ts:3:\d+: /,
    );
    await expect(computeCodeHash('computations/user-stats.ts', root)).rejects.toMatchObject({
      code: 'syntax-error',
      file: 'computations/shared/layer.ts',
    });
  });

  it('names a missing local import', async () => {
    edit('computations/shared/layer.ts', "'../rules/x'", "'../rules/missing'");
    await expect(computeCodeHash('computations/user-stats.ts', root)).rejects.toMatchObject({
      code: 'unresolved-import',
      file: 'computations/shared/layer.ts',
      message: expect.stringContaining('Could not resolve "../rules/missing"'),
    });
  });
});
