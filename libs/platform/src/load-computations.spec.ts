import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadProject } from './load-computations';
import { parseProjectConfig } from './project-config';

const config = parseProjectConfig({
  warehouse: { path: 'warehouse.duckdb' },
  tables: {},
  entities: { table: 'users', idField: 'user_id' },
});

/** A class body every form below shares: a global computation named `name`. */
const body = (name: string) =>
  `static getConfig() { return { name: '${name}', type: 'global' }; }
  async process() { return { ok: true }; }`;

const cjsRequire = `const { Computation } = require('@almanac/kernel');`;
const esmImport = `import { Computation } from '@almanac/kernel';`;

describe('loadProject: which files are computations and what they export', () => {
  let root: string;
  const write = (file: string, source: string) => {
    const abs = path.join(root, 'computations', file);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, source);
  };
  const load = () => loadProject(root, path.join(root, 'computations'), config);

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-loader-'));
  });
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('loads .ts, .js, .mjs and .cjs files, CommonJS or ES modules, whatever the export', async () => {
    write(
      'cjs-module-exports.js',
      `${cjsRequire}\nclass A extends Computation { ${body('A')} }\nmodule.exports = A;\n`,
    );
    write(
      'cjs-named.js',
      `${cjsRequire}\nclass B extends Computation { ${body('B')} }\nmodule.exports = { B };\n`,
    );
    write(
      'esm-default.js',
      `${esmImport}\nexport default class C extends Computation { ${body('C')} }\n`,
    );
    write('esm-named.mjs', `${esmImport}\nexport class D extends Computation { ${body('D')} }\n`);
    write(
      'exports-property.cjs',
      `${cjsRequire}\nexports.E = class E extends Computation { ${body('E')} };\n`,
    );
    write(
      'ts-default.ts',
      `${esmImport}\nexport default class F extends Computation { ${body('F')} }\n`,
    );
    write('ts-named.ts', `${esmImport}\nexport class G extends Computation { ${body('G')} }\n`);
    const project = await load();
    expect([...project.manifest.entries.keys()].sort()).toEqual([
      'A',
      'B',
      'C',
      'D',
      'E',
      'F',
      'G',
    ]);
    expect(project.manifest.entries.get('A')!.file).toBe(
      path.join(root, 'computations', 'cjs-module-exports.js'),
    );
  });

  it('loads a class exported both by name and as default once', async () => {
    write(
      'both.js',
      `${esmImport}\nexport class Both extends Computation { ${body('Both')} }\nexport default Both;\n`,
    );
    const project = await load();
    expect([...project.manifest.entries.keys()]).toEqual(['Both']);
  });

  it('a file that exports no computation is an error naming the file and what it exports', async () => {
    write(
      'ok.js',
      `${cjsRequire}\nclass A extends Computation { ${body('A')} }\nmodule.exports = A;\n`,
    );
    write('foo.js', `module.exports = { helper() { return 1; }, VERSION: 2 };\n`);
    await expect(load()).rejects.toThrow(
      'computations/foo.js exports { helper, VERSION } but no Computation class',
    );
  });

  it('names a lone exported function, and a module that exports nothing', async () => {
    write('fn.js', `module.exports = function helper() { return 1; };\n`);
    await expect(load()).rejects.toThrow(
      'computations/fn.js exports the function helper but no Computation class',
    );
    fs.rmSync(path.join(root, 'computations', 'fn.js'));
    write('empty.mjs', `const x = 1;\nvoid x;\n`);
    await expect(load()).rejects.toThrow(
      'computations/empty.mjs exports nothing: no Computation class',
    );
  });

  it('ignores declarations, tests, index files, dotfiles, sub-folders and non-code files', async () => {
    write('a.ts', `${esmImport}\nexport class A extends Computation { ${body('A')} }\n`);
    const broken = 'this is not code (\n';
    for (const f of [
      'types.d.ts',
      'a.spec.ts',
      'a.spec.js',
      'a.test.ts',
      'a.test.mjs',
      'index.ts',
      'index.js',
      '.eslintrc.js',
      'README.md',
      'data.json',
      'shared/helpers.js',
    ])
      write(f, broken);
    const project = await load();
    expect([...project.manifest.entries.keys()]).toEqual(['A']);
  });

  it("hashes a .js computation with the local modules it requires, not the kernel's", async () => {
    write(
      'a.js',
      `${cjsRequire}\nconst { round2 } = require('./shared/money');\nclass A extends Computation { ${body('A')} }\nmodule.exports = A;\n`,
    );
    write('shared/money.js', `exports.round2 = (x) => Math.round(x * 100) / 100;\n`);
    write('shared/unused.js', `exports.unused = 1;\n`);
    const before = (await load()).planned.get('A')!;
    expect(Object.keys(before.codeFiles)).toEqual([
      'computations/a.js',
      'computations/shared/money.js',
    ]);
    write('shared/unused.js', `exports.unused = 2;\n`);
    expect((await load()).planned.get('A')!.codeHash).toBe(before.codeHash);
    write('shared/money.js', `exports.round2 = (x) => Math.round(x * 1000) / 1000;\n`);
    expect((await load()).planned.get('A')!.codeHash).not.toBe(before.codeHash);
  });
});
