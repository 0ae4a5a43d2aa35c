// npm run build (nx run-many -t build) runs this once per app:
//   tsx infra/build/build-bundle.ts <scheduler|planner|executor|worker|api|migrate>
// Bundles apps/<app>/src/main.ts (migrate: the Spanner migration command, with infra/spanner's
// files) with esbuild into dist/apps/<app>/main.js. Our code (the @almanac/* libs) is inlined;
// every npm package stays a require() resolved in node_modules at run time (Nest, the Google
// clients with their .proto files, native DuckDB, esbuild and tsx which compile the project's
// computations), except what left-out.ts leaves out. Next to it: a package.json that lists the
// packages the bundles of all apps require (bundle-package.ts) and, for `npm ci`, a
// package-lock.json derived from the root one.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { bundlePackageJson, packageOf, type RootLock, type RootManifest } from './bundle-package';
import { leaveOut } from './left-out';

const ROOT = resolve(__dirname, '..', '..');
const SERVICES = ['scheduler', 'planner', 'executor', 'worker', 'api'] as const;
const BUNDLED_APPS = [...SERVICES, 'migrate'] as const;
type App = (typeof BUNDLED_APPS)[number];
const entryOf = (app: App) =>
  app === 'migrate'
    ? join(ROOT, 'libs', 'eventlog', 'src', 'spanner', 'spanner-migrate.command.ts')
    : join(ROOT, 'apps', app, 'src', 'main.ts');
/** packages required by a name computed at run time, which esbuild's metafile cannot list */
const LOADED_BY_NAME = ['@nestjs/platform-express'];

const esbuildOptions = (app: App): BuildOptions => ({
  absWorkingDir: ROOT,
  entryPoints: { main: entryOf(app) },
  // the services load the project's computations; migrate loads no project
  inject: app === 'migrate' ? [] : [join(ROOT, 'infra', 'build', 'project-runtime.ts')],
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

/** package -> a file that requires it, over the bundles of every app */
async function requiredPackages(): Promise<Map<string, string>> {
  const imports = new Map<string, string>();
  for (const app of BUNDLED_APPS) {
    const { metafile } = await build({ ...esbuildOptions(app), outdir: ROOT, write: false });
    for (const [file, input] of Object.entries(metafile?.inputs ?? {}))
      for (const imp of input.imports) {
        const pkg = imp.external ? packageOf(imp.path) : null;
        if (pkg && !imports.has(pkg)) imports.set(pkg, file);
      }
  }
  // NestFactory.create requires its HTTP adapter by name, so no import shows it to esbuild
  for (const pkg of LOADED_BY_NAME) if (!imports.has(pkg)) imports.set(pkg, '@nestjs/core');
  return imports;
}

async function buildBundle(app: App): Promise<string> {
  const outdir = join(ROOT, 'dist', 'apps', app);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  await build({ ...esbuildOptions(app), outdir });
  // the DDL files the migrate image applies (SPANNER_DDL_DIR=/app/spanner in its Dockerfile)
  if (app === 'migrate')
    cpSync(join(ROOT, 'infra', 'spanner'), join(outdir, 'spanner'), { recursive: true });
  // One dependency set for every image (ADR 0025): the packages all the bundles require, so
  // that the images share one node_modules layer and one install serves the five services.
  const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as RootManifest;
  const rootLock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as RootLock;
  const manifest = bundlePackageJson(await requiredPackages(), rootManifest, rootLock);
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
