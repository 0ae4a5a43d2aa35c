// npm run build (nx run-many -t build) runs this once per app:
//   tsx infra/build/build-bundle.ts <scheduler|planner|executor|worker|api>
// Bundles apps/<app>/src/main.ts with esbuild into dist/apps/<app>/main.js. Our code (the
// @almanac/* libs) is inlined; every npm package stays a require() resolved in node_modules at
// run time (Nest, the Google clients with their .proto files, native DuckDB, esbuild and tsx
// which compile the project's computations), except what left-out.ts leaves out. Next to it: the package.json that lists
// exactly those packages (bundle-package.ts) and, for `npm ci`, a package-lock.json derived from
// the root one.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { bundlePackageJson, packageOf, type RootLock, type RootManifest } from './bundle-package';
import { leaveOut } from './left-out';

const ROOT = resolve(__dirname, '..', '..');
const BUNDLED_APPS = ['scheduler', 'planner', 'executor', 'worker', 'api'] as const;
type App = (typeof BUNDLED_APPS)[number];
/** packages required by a name computed at run time, which esbuild's metafile cannot list */
const LOADED_BY_NAME = ['@nestjs/platform-express'];

async function buildBundle(app: App): Promise<string> {
  const outdir = join(ROOT, 'dist', 'apps', app);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: join(ROOT, 'apps', app, 'src', 'main.ts') },
    inject: [join(ROOT, 'infra', 'build', 'project-runtime.ts')],
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    tsconfig: join(ROOT, 'tsconfig.base.json'),
    sourcemap: true,
    // Nest and error messages read class names
    keepNames: true,
    metafile: true,
    plugins: [leaveOut],
    logLevel: 'warning',
  });
  const imports = new Map<string, string>();
  for (const [file, input] of Object.entries(result.metafile.inputs))
    for (const imp of input.imports) {
      const pkg = imp.external ? packageOf(imp.path) : null;
      if (pkg && !imports.has(pkg)) imports.set(pkg, file);
    }
  // NestFactory.create requires its HTTP adapter by name, so no import shows it to esbuild
  for (const pkg of LOADED_BY_NAME) if (!imports.has(pkg)) imports.set(pkg, '@nestjs/core');
  const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as RootManifest;
  const rootLock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as RootLock;
  const manifest = bundlePackageJson(app, imports, rootManifest, rootLock);
  writeFileSync(join(outdir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // Start from the root lock so that every transitive package keeps the version tested here;
  // npm drops what this package.json does not need.
  writeFileSync(join(outdir, 'package-lock.json'), JSON.stringify(rootLock));
  execFileSync(
    'npm',
    ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'],
    { cwd: outdir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return relative(ROOT, outdir);
}

async function main(argv: string[]): Promise<void> {
  const unknown = argv.filter((a) => !(BUNDLED_APPS as readonly string[]).includes(a));
  if (argv.length === 0 || unknown.length > 0) {
    process.stderr.write(`usage: build-bundle.ts <${BUNDLED_APPS.join('|')}>...\n`);
    process.exitCode = 2;
    return;
  }
  for (const app of argv as App[]) process.stdout.write(`built ${await buildBundle(app)}\n`);
}

if (require.main === module)
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
