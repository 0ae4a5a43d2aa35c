// The production package.json of the bundles: exactly the npm packages the bundled code
// requires, at the versions the root package-lock.json installs, so `npm ci --omit=dev` in a
// bundle folder installs those and what they depend on, nothing else.
import { builtinModules } from 'node:module';

/**
 * `@scope/name/sub/path` -> `@scope/name`; `name/sub` -> `name`; a Node built-in, a relative or
 * absolute path, or esbuild's `<runtime>` -> null
 */
export function packageOf(importPath: string): string | null {
  if (/^[./<]/.test(importPath)) return null;
  if (importPath.startsWith('node:') || builtinModules.includes(importPath.split('/')[0]))
    return null;
  const parts = importPath.split('/');
  return importPath.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

export interface RootManifest {
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  /** npm 11's install-script policy: which packages may run theirs */
  allowScripts?: Record<string, boolean>;
}

export interface RootLock {
  packages: Record<string, { version?: string }>;
}

/** A bundle needs a package the root does not list as a runtime dependency. */
class BundleDependencyError extends Error {
  readonly code = 'bundle-dependency';
  constructor(message: string) {
    super(message);
    this.name = 'BundleDependencyError';
  }
}

/**
 * The bundles' package.json. `imports` maps each package the bundles require to a file that
 * requires it (for the error). A package that is a devDependency of the root, or not a direct
 * dependency at all, fails the build: in production nothing would install it.
 */
export function bundlePackageJson(
  imports: Map<string, string>,
  root: RootManifest,
  lock: RootLock,
): Record<string, unknown> {
  const dependencies: Record<string, string> = {};
  for (const [pkg, importer] of [...imports].sort(([a], [b]) => a.localeCompare(b))) {
    if (!root.dependencies?.[pkg]) {
      const dev = root.devDependencies?.[pkg] ? 'a devDependency' : 'not a dependency';
      throw new BundleDependencyError(
        `${importer} requires "${pkg}", which is ${dev} of the root package.json; ` +
          'move it to "dependencies" (the production install omits everything else)',
      );
    }
    const version = lock.packages[`node_modules/${pkg}`]?.version;
    if (!version)
      throw new BundleDependencyError(
        `"${pkg}" is not installed per package-lock.json; run npm install`,
      );
    dependencies[pkg] = version;
  }
  return {
    name: 'almanac-services',
    version: root.version,
    private: true,
    description: 'Almanac services, bundled (npm run build): their production dependencies',
    license: 'UNLICENSED',
    engines: { node: '>=20' },
    main: 'main.js',
    scripts: { start: 'node main.js' },
    dependencies,
    // the same install-script policy as the root (esbuild's and protobufjs' postinstall)
    ...(root.allowScripts ? { allowScripts: root.allowScripts } : {}),
  };
}
