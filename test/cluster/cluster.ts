import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { Spanner } from '@google-cloud/spanner';
import { Storage } from '@google-cloud/storage';
import { migrateSpanner, SPANNER_DDL_DIR } from '@almanac/eventlog';
import { parseTopology, provisionPubSub } from '@almanac/messaging';
import {
  emulatorEnv,
  startBigQueryEmulator,
  startPubSubEmulator,
  startSpannerEmulator,
  startStorageEmulator,
  type RunningEmulator,
  type RunningHttpEmulator,
} from '@almanac/emulators';
import { SERVICES, type Replicas, type Service } from './cluster.args';

export const REPO_ROOT = resolve(__dirname, '..', '..');

/** One replica of a service: its own OS process, its own port, its own ALMANAC_OWNER. */
interface ServiceProcess {
  service: Service;
  /** 1-based */
  replica: number;
  /** `executor-2`: stays the same across restarts, and is the replica's ALMANAC_OWNER */
  name: string;
  child: ChildProcess;
  url: string;
  output(): string;
}

/** how one replica starts: `node <args>` in `cwd`, with `env` over the cluster's environment */
interface Launch {
  args: string[];
  cwd: string;
  env?: Record<string, string>;
}

export interface Cluster {
  env: Record<string, string>;
  /** the emulators the services talk to (pause one to rehearse an outage) */
  readonly emulators: {
    pubsub: RunningEmulator;
    spanner: RunningEmulator;
    /** with `dataPlane`: the BigQuery and Cloud Storage emulators */
    bigquery?: RunningHttpEmulator;
    storage?: RunningHttpEmulator;
  };
  /** the first api replica's URL */
  readonly apiUrl: string;
  /** every api replica's URL, replica 1 first */
  readonly apiUrls: string[];
  /** the current process of every replica: services in start order, then replica 1, 2, ... */
  readonly processes: ServiceProcess[];
  replicasOf(service: Service): ServiceProcess[];
  /**
   * (re)starts one replica as a new process under the same name; stops the old one if it still
   * runs. The next replica number (one more than the service has) adds a replica (scaling out).
   */
  start(service: Service, replica?: number): Promise<ServiceProcess>;
  /** sends `signal` to a replica by name (`worker-2`) and waits until it exits */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Both emulators as local processes, the Spanner schema migrated and the Pub/Sub topology
 * provisioned, then every service as separate OS processes (bin/almanac-service): `replicas`
 * of each (1 unless given), the replicas of one service started together, the services one
 * after another in the order scheduler, planner, executor, worker, api.
 */
export async function startCluster(opts: {
  warehousePath: string;
  projectId?: string;
  log?: (line: string) => void;
  /** every line a service process writes (stdout and stderr), with the replica's name */
  onOutput?: (name: string, line: string) => void;
  /** extra environment of every service (execution overrides for fault tests) */
  env?: Record<string, string>;
  replicas?: Replicas;
  /**
   * how a service's process starts: node with these arguments in this folder, with this extra
   * environment; default `node bin/almanac-service <service>` in the repository (the
   * production-bundle test starts each service's bundle instead)
   */
  launcher?: (service: Service) => Launch;
  /** aborting it while the cluster starts stops what has started and rejects */
  signal?: AbortSignal;
  /**
   * also the BigQuery and Cloud Storage emulators, `bucket` created on the latter, their URLs in
   * every service's ALMANAC_BIGQUERY_ENDPOINT, ALMANAC_STORAGE_ENDPOINT and STORAGE_EMULATOR_HOST;
   * `beforeServices` runs once they answer, before any service starts (to load source tables)
   */
  dataPlane?: {
    bucket: string;
    beforeServices?: (emulators: {
      bigquery: RunningHttpEmulator;
      storage: RunningHttpEmulator;
    }) => Promise<void>;
  };
}): Promise<Cluster> {
  const log = opts.log ?? (() => undefined);
  const launcher =
    opts.launcher ??
    ((service: Service): Launch => ({
      args: [join(REPO_ROOT, 'bin', 'almanac-service'), service],
      cwd: REPO_ROOT,
    }));
  const counts = SERVICES.map((service) => {
    const n = opts.replicas?.[service] ?? 1;
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`replicas of ${service} must be a positive integer, got ${n}`);
    return [service, n] as const;
  });
  const unknown = Object.keys(opts.replicas ?? {}).filter(
    (s) => !(SERVICES as readonly string[]).includes(s),
  );
  if (unknown.length)
    throw new Error(
      `replicas of unknown services ${unknown.join(', ')} (services: ${SERVICES.join(', ')})`,
    );
  const emulators: RunningEmulator[] = [];
  // every child ever spawned, listening or not yet, so that stop() leaves none behind
  const children = new Set<ChildProcess>();
  const processes: ServiceProcess[] = [];
  const stopAll = async () => {
    await Promise.all([...children].map((c) => stopProcess(c)));
    await Promise.all(emulators.map((e) => e.stop()));
  };
  const signal = opts.signal;
  // replicas still starting exit, so their launch rejects and the catch below stops the rest
  const onAbort = () => children.forEach((c) => c.kill('SIGTERM'));
  signal?.addEventListener('abort', onAbort, { once: true });
  let startingUp = true;
  try {
    signal?.throwIfAborted();
    const [pubsubEmu, spannerEmu] = await Promise.all([
      startPubSubEmulator(),
      startSpannerEmulator(),
    ]);
    emulators.push(pubsubEmu, spannerEmu);
    signal?.throwIfAborted();
    // one folder for both: bqemulator loads gs:// URIs from where fake-gcs-server keeps objects
    const objectsDir = opts.dataPlane ? mkdtempSync(join(tmpdir(), 'almanac-objects-')) : null;
    if (objectsDir)
      emulators.push({
        host: '',
        pause: async () => undefined,
        resume: async () => undefined,
        stop: async () => rmSync(objectsDir, { recursive: true, force: true }),
      });
    const data = objectsDir
      ? await Promise.all([
          startBigQueryEmulator({ objectsDir }),
          startStorageEmulator({ objectsDir }),
        ]).then(([bigquery, storage]) => {
          emulators.push(bigquery, storage);
          return { bigquery, storage };
        })
      : undefined;
    signal?.throwIfAborted();
    const projectId = opts.projectId ?? 'almanac-local';
    const env: Record<string, string> = {
      ...emulatorEnv({ pubsub: pubsubEmu.host, spanner: spannerEmu.host }),
      GOOGLE_CLOUD_PROJECT: projectId,
      SPANNER_INSTANCE: 'almanac',
      SPANNER_DATABASE: 'almanac',
      ALMANAC_PROJECT_ROOT: REPO_ROOT,
      ALMANAC_WAREHOUSE_PATH: opts.warehousePath,
      PORT: '0',
      HOST: '127.0.0.1',
      // no scheduler timer: a tick at the real time would request runs the tests do not expect
      ALMANAC_TICK_INTERVAL_MS: '0',
      ...(data && {
        ALMANAC_BIGQUERY_ENDPOINT: data.bigquery.endpoint,
        ALMANAC_STORAGE_ENDPOINT: data.storage.endpoint,
        STORAGE_EMULATOR_HOST: data.storage.endpoint,
      }),
      ...opts.env,
    };
    log(`emulators: pubsub ${pubsubEmu.host}, spanner ${spannerEmu.host}`);
    Object.assign(process.env, emulatorEnv({ pubsub: pubsubEmu.host, spanner: spannerEmu.host }));

    const spanner = new Spanner({ projectId });
    const [instance, op] = await spanner.createInstance('almanac', {
      config: 'emulator-config',
      nodes: 1,
    });
    await op.promise();
    const [database, dbOp] = await instance.createDatabase('almanac');
    await dbOp.promise();
    const migrated = await migrateSpanner(database, SPANNER_DDL_DIR);
    log(`spanner: applied ${migrated.applied.join(', ')}`);
    await database.close();
    void spanner.close();

    const pubsub = new PubSub({ projectId });
    const topology = parseTopology(
      JSON.parse(readFileSync(join(REPO_ROOT, 'infra', 'pubsub', 'topology.json'), 'utf8')),
    );
    const report = await provisionPubSub(pubsub, topology);
    log(`pubsub: created ${report.created.length} topics and subscriptions`);
    await pubsub.close();

    if (data && opts.dataPlane) {
      await new Storage({ projectId, apiEndpoint: data.storage.endpoint }).createBucket(
        opts.dataPlane.bucket,
      );
      log(`emulators: bigquery ${data.bigquery.endpoint}, storage ${data.storage.endpoint}`);
      await opts.dataPlane.beforeServices?.(data);
    }

    const launch = async (service: Service, replica: number): Promise<ServiceProcess> => {
      const name = `${service}-${replica}`;
      if (startingUp) signal?.throwIfAborted();
      const t0 = performance.now();
      const how = launcher(service);
      const child = spawn(process.execPath, how.args, {
        cwd: how.cwd,
        // the replica's own owner wins over opts.env: two processes must never share one
        env: { ...process.env, ...env, ...how.env, ALMANAC_OWNER: name },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      let output = '';
      const onOutput = opts.onOutput;
      if (onOutput)
        for (const stream of [child.stdout!, child.stderr!]) {
          let partial = '';
          stream.on('data', (b: Buffer) => {
            const lines = (partial + b.toString()).split('\n');
            partial = lines.pop()!;
            for (const line of lines) onOutput(name, line);
          });
          stream.on('end', () => partial && onOutput(name, partial));
        }
      const url = await new Promise<string>((resolveUrl, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`${name} did not start within 60 s:\n${output}`));
        }, 60_000);
        const onData = (b: Buffer) => {
          output = (output + b.toString()).slice(-20_000);
          const m = /almanac \w+: listening on (\S+)/.exec(output);
          if (m) {
            clearTimeout(timer);
            resolveUrl(m[1]);
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code, killedBy) => {
          clearTimeout(timer);
          reject(
            new Error(
              `${name} exited (${killedBy ?? `code ${code}`}) before listening:\n${output}`,
            ),
          );
        });
      });
      const proc: ServiceProcess = { service, replica, name, child, url, output: () => output };
      log(`${name}: ${url} (pid ${child.pid}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      return proc;
    };
    for (const [service, n] of counts) {
      const started = await Promise.all(
        Array.from({ length: n }, (_, i) => launch(service, i + 1)),
      );
      processes.push(...started);
    }
    signal?.throwIfAborted();
    signal?.removeEventListener('abort', onAbort);
    startingUp = false;

    const byName = (name: string) => {
      const proc = processes.find((p) => p.name === name);
      if (!proc)
        throw new Error(
          `no replica "${name}" in this cluster (${processes.map((p) => p.name).join(', ')})`,
        );
      return proc;
    };
    const replicasOf = (service: Service) => processes.filter((p) => p.service === service);
    const adding = new Map<Service, number>();
    return {
      env,
      emulators: { pubsub: pubsubEmu, spanner: spannerEmu, ...data },
      get apiUrl() {
        return replicasOf('api')[0].url;
      },
      get apiUrls() {
        return replicasOf('api').map((p) => p.url);
      },
      get processes() {
        return [...processes];
      },
      replicasOf,
      async start(service, replica = 1) {
        // replicas being added count, so that several can be added at once (as KEDA does)
        if (replica === replicasOf(service).length + (adding.get(service) ?? 0) + 1) {
          adding.set(service, (adding.get(service) ?? 0) + 1);
          try {
            const added = await launch(service, replica);
            const before = replicasOf(service).filter((p) => p.replica < replica);
            processes.splice(processes.indexOf(before[before.length - 1]) + 1, 0, added);
            return added;
          } finally {
            adding.set(service, adding.get(service)! - 1);
          }
        }
        const old = byName(`${service}-${replica}`);
        await stopProcess(old.child);
        const fresh = await launch(service, replica);
        processes[processes.indexOf(old)] = fresh;
        return fresh;
      },
      async kill(name, signal = 'SIGTERM') {
        await stopProcess(byName(name).child, signal);
      },
      stop: stopAll,
    };
  } catch (e) {
    signal?.removeEventListener('abort', onAbort);
    await stopAll();
    throw signal?.aborted ? signal.reason : e;
  }
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
