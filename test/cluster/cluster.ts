import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { Spanner } from '@google-cloud/spanner';
import { migrateSpanner, SPANNER_DDL_DIR } from '@almanac/eventlog';
import { parseTopology, provisionPubSub } from '@almanac/messaging';
import {
  emulatorEnv,
  startPubSubEmulator,
  startSpannerEmulator,
  type RunningEmulator,
} from '@almanac/emulators';

export const REPO_ROOT = resolve(__dirname, '..', '..');
const SERVICES = ['scheduler', 'planner', 'executor', 'worker', 'api'] as const;
export type Service = (typeof SERVICES)[number];

export interface ServiceProcess {
  name: Service;
  child: ChildProcess;
  url: string;
  output(): string;
}

export interface Cluster {
  env: Record<string, string>;
  apiUrl: string;
  services: Map<Service, ServiceProcess>;
  /** starts (or restarts) one service as its own OS process */
  start(name: Service): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/**
 * Both emulators as local processes, the Spanner schema migrated and the Pub/Sub topology
 * provisioned, then the five services as separate OS processes (bin/almanac-service).
 */
export async function startCluster(opts: {
  warehousePath: string;
  projectId?: string;
  log?: (line: string) => void;
  /** extra environment of every service (execution overrides for fault tests) */
  env?: Record<string, string>;
}): Promise<Cluster> {
  const log = opts.log ?? (() => undefined);
  const emulators: RunningEmulator[] = [];
  const services = new Map<Service, ServiceProcess>();
  const stopAll = async () => {
    await Promise.all([...services.values()].map((s) => stopProcess(s.child)));
    await Promise.all(emulators.map((e) => e.stop()));
  };
  try {
    const [pubsubEmu, spannerEmu] = await Promise.all([
      startPubSubEmulator(),
      startSpannerEmulator(),
    ]);
    emulators.push(pubsubEmu, spannerEmu);
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

    const start = async (name: Service): Promise<ServiceProcess> => {
      const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'almanac-service'), name], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const url = await new Promise<string>((resolveUrl, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name} did not start within 60 s:\n${output}`)),
          60_000,
        );
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
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited with code ${code}:\n${output}`));
        });
      });
      const proc: ServiceProcess = { name, child, url, output: () => output };
      services.set(name, proc);
      log(`${name}: ${url} (pid ${child.pid})`);
      return proc;
    };
    for (const name of SERVICES) await start(name);
    return { env, apiUrl: services.get('api')!.url, services, start, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

export async function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
