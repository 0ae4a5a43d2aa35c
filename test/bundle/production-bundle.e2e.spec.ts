import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, startCluster, type Cluster } from '../cluster/cluster';
import { SERVICES } from '../cluster/cluster.args';
import {
  E2E_DATE,
  requestRun,
  resultHashes,
  sampleWithBaseline,
  waitForRun,
} from '../cluster/e2e-run';

const run = promisify(execFile);

// What the images of infra/docker hold, without a container engine: `npm run build`, then each
// service's bundle copied alone into an empty folder with the project beside it, the production
// dependencies installed from the bundles' package.json and lock (the same for every bundle,
// ADR 0025: installed once, linked into each folder), and the five services started from those
// folders against the Pub/Sub and Spanner emulators.
describe('the production bundles (e2e)', () => {
  let sample: Awaited<ReturnType<typeof sampleWithBaseline>>;
  let cluster: Cluster | undefined;
  const appDir = (service: string) => join(sample.dir, 'bundles', service);

  beforeAll(async () => {
    await run('npm', ['run', 'build'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
    sample = await sampleWithBaseline('almanac-bundle-', 60);
    const bundle = (app: string) => join(REPO_ROOT, 'dist', 'apps', app);
    const deps = (app: string) =>
      ['package.json', 'package-lock.json'].map((f) => readFileSync(join(bundle(app), f), 'utf8'));
    // one dependency set: installing it once installs every bundle's
    for (const app of [...SERVICES, 'migrate']) expect(deps(app)).toEqual(deps('api'));
    const depsDir = join(sample.dir, 'deps');
    mkdirSync(depsDir);
    for (const file of ['package.json', 'package-lock.json'])
      cpSync(join(bundle('api'), file), join(depsDir, file));
    // what the Dockerfiles' deps stage runs
    await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: depsDir,
      maxBuffer: 16 * 1024 * 1024,
    });
    for (const app of [...SERVICES, 'migrate']) {
      const dir = appDir(app);
      mkdirSync(dir, { recursive: true });
      cpSync(bundle(app), dir, { recursive: true });
      symlinkSync(join(depsDir, 'node_modules'), join(dir, 'node_modules'), 'dir');
      if (app === 'migrate') continue;
      // the project, where the Dockerfiles put it (ALMANAC_PROJECT_ROOT=/app/project)
      cpSync(join(REPO_ROOT, 'almanac.config.ts'), join(dir, 'project', 'almanac.config.ts'));
      cpSync(join(REPO_ROOT, 'computations'), join(dir, 'project', 'computations'), {
        recursive: true,
      });
    }
  }, 600_000);

  afterAll(async () => {
    await cluster?.stop();
    if (sample) rmSync(sample.dir, { recursive: true, force: true });
  }, 60_000);

  it('given the bundles installed with production dependencies only, then no devDependency and no better-sqlite3 is in their node_modules', () => {
    const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    const devDependencies = Object.keys(root.devDependencies);
    expect(devDependencies).toEqual(
      expect.arrayContaining(['jest', 'typescript', 'nx', 'eslint', 'ts-jest']),
    );
    type Lock = {
      packages: Record<string, { version?: string; dependencies?: Record<string, string> }>;
    };
    const lockOf = (dir: string) =>
      JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as Lock;
    const lock = lockOf(join(sample.dir, 'deps'));
    // a devDependency of ours may still be a dependency of a production package
    // (protobufjs depends on @types/node): only those may be installed
    const requiredByProduction = new Set(
      Object.entries(lock.packages)
        .filter(([path]) => path !== '')
        .flatMap(([, p]) => Object.keys(p.dependencies ?? {})),
    );
    const node_modules = join(sample.dir, 'deps', 'node_modules');
    const installed = [...devDependencies, 'better-sqlite3'].filter(
      (pkg) => existsSync(join(node_modules, pkg)) && !requiredByProduction.has(pkg),
    );
    expect(installed).toEqual([]);
    for (const tool of ['jest', 'ts-jest', 'typescript', 'nx', 'eslint', 'knip', 'better-sqlite3'])
      expect(`${tool} ${existsSync(join(node_modules, tool))}`).toBe(`${tool} false`);
    // every package keeps the version the root lock installs (and the tests run with)
    const rootLock = lockOf(REPO_ROOT);
    const changed = Object.entries(lock.packages)
      .filter(([path, p]) => path && rootLock.packages[path]?.version !== p.version)
      .map(([path, p]) => `${path} ${p.version} (root: ${rootLock.packages[path]?.version})`);
    expect(changed).toEqual([]);
    for (const service of SERVICES) {
      const dir = appDir(service);
      expect(readdirSync(dir).sort()).toEqual([
        'main.js',
        'main.js.map',
        'node_modules',
        'package-lock.json',
        'package.json',
        'project',
      ]);
      // what every service needs at run time is there
      for (const pkg of ['@google-cloud/spanner', '@nestjs/platform-express', 'tsx', 'esbuild'])
        expect(`${service}: ${pkg} ${existsSync(join(dir, 'node_modules', pkg))}`).toBe(
          `${service}: ${pkg} true`,
        );
    }
  });

  it('given the five services started from their bundle folders, then each is ready and a run requested through the api completes with the embedded profile’s results', async () => {
    cluster = await startCluster({
      warehousePath: sample.warehouse,
      launcher: (service) => ({
        args: [join(appDir(service), 'main.js')],
        cwd: appDir(service),
        // its own copy of the project, as in its image
        env: { ALMANAC_PROJECT_ROOT: join(appDir(service), 'project'), NODE_PATH: '' },
      }),
    });
    const ready = await Promise.all(
      cluster.processes.map(async (p) => [p.service, await readyStatus(p.url)] as const),
    );
    expect(Object.fromEntries(ready)).toEqual({
      scheduler: 200,
      planner: 200,
      executor: 200,
      worker: 200,
      api: 200,
    });
    // started from the bundle, not from bin/almanac-service
    for (const p of cluster.processes)
      expect(p.child.spawnargs.slice(1)).toEqual([join(appDir(p.service), 'main.js')]);

    const runId = await requestRun(cluster.apiUrl, { date: E2E_DATE });
    const done = await waitForRun(cluster.apiUrl, runId, 180_000);
    expect(done.status).toBe('completed');
    expect(Object.keys(resultHashes(done)).length).toBe(6);
    expect(resultHashes(done)).toEqual(sample.baseline);
  }, 420_000);

  it('given the migrate bundle, when run against the migrated database, then it finds its DDL files and applies none again', async () => {
    const dir = appDir('migrate');
    const { stdout } = await run(process.execPath, [join(dir, 'main.js')], {
      cwd: dir,
      env: { ...process.env, ...cluster!.env, SPANNER_DDL_DIR: join(dir, 'spanner') },
    });
    const files = readdirSync(join(REPO_ROOT, 'infra', 'spanner'))
      .filter((f) => f.endsWith('.sql'))
      .sort();
    expect(files.length).toBeGreaterThan(0);
    expect(stdout.trim()).toBe(`applied: none; already applied: ${files.join(', ')}`);
  }, 60_000);
});

/** GET /health/ready until it answers 200, or its last status after 60 s */
async function readyStatus(url: string): Promise<number> {
  const deadline = Date.now() + 60_000;
  let status = 0;
  while (Date.now() < deadline) {
    status = await fetch(`${url}/health/ready`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return status;
    await new Promise((r) => setTimeout(r, 500));
  }
  return status;
}
