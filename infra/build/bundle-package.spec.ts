import { build } from 'esbuild';
import { bundlePackageJson, packageOf, type RootLock, type RootManifest } from './bundle-package';
import { leaveOut } from './left-out';

const root: RootManifest = {
  version: '0.1.0',
  dependencies: { zod: '^4.6.0', '@nestjs/core': '^11.1.0' },
  devDependencies: { jest: '^30.2.0' },
  allowScripts: { esbuild: true },
};
const lock: RootLock = {
  packages: {
    '': {},
    'node_modules/zod': { version: '4.6.7' },
    'node_modules/@nestjs/core': { version: '11.2.10' },
    'node_modules/jest': { version: '30.2.0' },
  },
};

describe('the package.json of a bundle', () => {
  it('given a scoped sub-path, a plain sub-path, built-ins and relative paths, then it names the package or nothing', () => {
    expect(packageOf('@nestjs/core/router')).toBe('@nestjs/core');
    expect(packageOf('tsx/cjs/api')).toBe('tsx');
    expect(packageOf('node:fs')).toBeNull();
    expect(packageOf('fs/promises')).toBeNull();
    expect(packageOf('./api-queries')).toBeNull();
    expect(packageOf('<runtime>')).toBeNull();
  });

  it('given the packages a bundle requires, then it lists exactly those at the versions of the root lock', () => {
    const manifest = bundlePackageJson(
      new Map([
        ['zod', 'libs/contracts/src/envelope.ts'],
        ['@nestjs/core', 'libs/platform/src/service-host.ts'],
      ]),
      root,
      lock,
    );
    expect(manifest).toMatchObject({
      name: 'almanac-services',
      version: '0.1.0',
      main: 'main.js',
      dependencies: { '@nestjs/core': '11.2.10', zod: '4.6.7' },
      allowScripts: { esbuild: true },
    });
    expect(manifest).not.toHaveProperty('devDependencies');
  });

  it('given a bundle that requires a devDependency, then the build fails naming the package and the file', () => {
    expect(() => bundlePackageJson(new Map([['jest', 'libs/x/src/y.ts']]), root, lock)).toThrow(
      'libs/x/src/y.ts requires "jest", which is a devDependency of the root package.json',
    );
    expect(() => bundlePackageJson(new Map([['left-pad', 'libs/x/src/y.ts']]), root, lock)).toThrow(
      'requires "left-pad", which is not a dependency of the root package.json',
    );
  });
});

describe('packages left out of the bundles', () => {
  it('given code that opens better-sqlite3, when bundled, then the bundle requires no better-sqlite3 and using it throws why', async () => {
    const out = await build({
      stdin: {
        contents:
          "const Database = require('better-sqlite3'); module.exports = () => new Database(':memory:');",
        loader: 'js',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      packages: 'external',
      plugins: [leaveOut],
      write: false,
      logLevel: 'silent',
    });
    const code = out.outputFiles[0].text;
    expect(code).not.toMatch(/require\(["']better-sqlite3["']\)/);
    const mod = { exports: {} as unknown };
    new Function('module', 'exports', 'require', code)(mod, mod.exports, require);
    expect(() => (mod.exports as () => unknown)()).toThrow(
      'better-sqlite3 is not in this bundle: SQLite is the embedded profile',
    );
  });
});
