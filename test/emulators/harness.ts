import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Instance, Spanner } from '@google-cloud/spanner';

/**
 * Starts the Google Cloud emulators as local processes on free ports, for integration tests.
 * Order of preference: the gcloud SDK's emulators (installed on this project's machines), then
 * testcontainers (@testcontainers/gcloud) when a Docker engine answers; otherwise a clear error
 * saying what to install. Nothing is skipped silently.
 */
export interface RunningEmulator {
  /** host:port to put in PUBSUB_EMULATOR_HOST / SPANNER_EMULATOR_HOST */
  host: string;
  /**
   * Stops the emulator without losing its state (SIGSTOP to its processes; `docker pause` for a
   * container): connections stay open and nothing answers, as in an outage. `resume` undoes it.
   */
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export class EmulatorUnavailableError extends Error {
  readonly code = 'emulator-unavailable';
}

const INSTALL_HINT =
  'install the Google Cloud CLI with its emulators (Debian: apt-get install google-cloud-cli ' +
  'google-cloud-cli-pubsub-emulator google-cloud-cli-spanner-emulator, and Java 17 for Pub/Sub), ' +
  'or set CLOUDSDK_ROOT to an SDK that has them';

let sdkRootCache: string | undefined;

/** The SDK root `gcloud info` prints (or CLOUDSDK_ROOT). */
export function sdkRoot(): string {
  if (sdkRootCache) return sdkRootCache;
  const fromEnv = process.env.CLOUDSDK_ROOT;
  if (fromEnv && existsSync(fromEnv)) return (sdkRootCache = fromEnv);
  try {
    const root = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 30_000,
    }).trim();
    if (root && existsSync(root)) return (sdkRootCache = root);
  } catch {
    // fall through to the error below
  }
  throw new EmulatorUnavailableError(
    `no Google Cloud SDK found (gcloud is not on PATH): ${INSTALL_HINT}`,
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(
  port: number,
  child: ChildProcess,
  what: string,
  timeoutMs: number,
  log: () => string,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      throw new EmulatorUnavailableError(
        `${what} exited with code ${child.exitCode} before listening:\n${log()}`,
      );
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    if (Date.now() > deadline)
      throw new EmulatorUnavailableError(
        `${what} did not listen on ${port} within ${timeoutMs} ms:\n${log()}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

function launch(
  what: string,
  command: string,
  args: string[],
  port: number,
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
) {
  if (!existsSync(command))
    throw new EmulatorUnavailableError(`${what} not found at ${command}: ${INSTALL_HINT}`);
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.exitCode !== null) throw new Error(`${what} has exited: cannot send it ${signal}`);
    process.kill(-child.pid!, signal); // detached: the group is the emulator and its children
  };
  const pause = async () => signalGroup('SIGSTOP');
  const resume = async () => signalGroup('SIGCONT');
  const stop = async () => {
    if (child.exitCode !== null) return;
    try {
      process.kill(-child.pid!, 'SIGCONT'); // a paused process would not handle SIGTERM
    } catch {
      // already gone
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid!, 'SIGTERM'); // the whole process group (the JVM under its script)
    } catch {
      child.kill('SIGTERM');
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };
  return { child, pause, resume, stop, log: () => output, port };
}

/** launch(), then wait until it listens on `port`; an emulator that does not is stopped */
async function launchListening(
  what: string,
  command: string,
  args: string[],
  port: number,
  timeoutMs: number,
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningEmulator> {
  const p = launch(what, command, args, port, opts);
  try {
    await waitForPort(port, p.child, what, timeoutMs, p.log);
  } catch (e) {
    await p.stop();
    throw e;
  }
  return { host: `127.0.0.1:${port}`, pause: p.pause, resume: p.resume, stop: p.stop };
}

/** The Pub/Sub emulator (Java) from the local SDK, ready in ~1-2 s. */
export async function startLocalPubSubEmulator(): Promise<RunningEmulator> {
  const root = sdkRoot();
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'almanac-pubsub-'));
  const p = await launchListening(
    'the Pub/Sub emulator',
    join(root, 'platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator'),
    [`--host=127.0.0.1`, `--port=${port}`, `--dir=${dataDir}`],
    port,
    60_000,
    { env: { JAVA_OPTS: '-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1' } },
  );
  return {
    ...p,
    stop: async () => {
      await p.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The Spanner emulator (gRPC only) from the local SDK, ready in well under a second. */
export async function startLocalSpannerEmulator(): Promise<RunningEmulator> {
  const root = sdkRoot();
  const port = await freePort();
  const dir = join(root, 'bin', 'cloud_spanner_emulator');
  return launchListening(
    'the Spanner emulator',
    join(dir, 'emulator_main'),
    ['--host_port', `127.0.0.1:${port}`],
    port,
    30_000,
    { cwd: dir },
  );
}

/**
 * Where `npm run emulators:install` (test/emulators/install-emulators.sh) puts the BigQuery and
 * Cloud Storage emulators: ALMANAC_EMULATORS_DIR, else `.cache/emulators` at the repository root.
 */
function emulatorsDir(): string {
  return process.env.ALMANAC_EMULATORS_DIR ?? join(__dirname, '..', '..', '.cache', 'emulators');
}

const EMULATORS_INSTALL_HINT =
  'run `npm run emulators:install` (test/emulators/install-emulators.sh: bqemulator from PyPI, ' +
  'fake-gcs-server from the Go module proxy), or set ALMANAC_EMULATORS_DIR to where they are';

/** An emulator that answers over HTTP: `endpoint` is its base URL (http://127.0.0.1:port). */
export interface RunningHttpEmulator extends RunningEmulator {
  endpoint: string;
}

/**
 * The BigQuery emulator bqemulator (PyPI; DuckDB under a REST API the Node client speaks; ADR
 * 0026) as a local process, in memory, ready in a few seconds.
 */
export async function startLocalBigQueryEmulator(
  opts: SharedObjectsOption = {},
): Promise<RunningHttpEmulator> {
  const dir = join(emulatorsDir(), 'bigquery');
  const command = join(dir, 'bin', 'bqemulator');
  if (!existsSync(command))
    throw new EmulatorUnavailableError(
      `the BigQuery emulator is not installed (no ${command}): ${EMULATORS_INSTALL_HINT}`,
    );
  const port = await freePort();
  const grpcPort = await freePort();
  const p = await launchListening(
    'the BigQuery emulator',
    command,
    [
      'start',
      '--rest-port',
      String(port),
      '--grpc-port',
      String(grpcPort),
      '--project',
      'almanac-test',
      '--ephemeral',
      '--log-level',
      'warning',
    ],
    port,
    60_000,
    // its own HOME holds DuckDB's spatial extension, which it would otherwise download
    {
      env: {
        HOME: join(dir, 'home'),
        ...(opts.objectsDir ? { BQEMU_GCS_LOCAL_ROOT: opts.objectsDir } : {}),
      },
    },
  );
  return { ...p, endpoint: `http://${p.host}` };
}

/**
 * Load jobs from gs:// on the emulators: bqemulator reads gs://bucket/name from
 * `<BQEMU_GCS_LOCAL_ROOT>/bucket/name`, which is where fake-gcs-server's filesystem backend keeps
 * objects, so the two share a folder (ADR 0026, Results export).
 */
export interface SharedObjectsOption {
  objectsDir?: string;
}

/**
 * The Cloud Storage emulator fake-gcs-server (Go) as a local process, in memory (or in
 * `objectsDir`, for a BigQuery emulator to load from).
 */
export async function startLocalStorageEmulator(
  opts: SharedObjectsOption = {},
): Promise<RunningHttpEmulator> {
  const command = join(emulatorsDir(), 'bin', 'fake-gcs-server');
  if (!existsSync(command))
    throw new EmulatorUnavailableError(
      `the Cloud Storage emulator is not installed (no ${command}): ${EMULATORS_INSTALL_HINT}`,
    );
  const port = await freePort();
  const p = await launchListening(
    'the Cloud Storage emulator',
    command,
    [
      '-scheme',
      'http',
      '-host',
      '127.0.0.1',
      '-port',
      String(port),
      ...(opts.objectsDir
        ? ['-backend', 'filesystem', '-filesystem-root', opts.objectsDir]
        : ['-backend', 'memory']),
      '-public-host',
      `127.0.0.1:${port}`,
      '-log-level',
      'warn',
    ],
    port,
    30_000,
  );
  return { ...p, endpoint: `http://${p.host}` };
}

/**
 * Environment the Google Cloud clients need to talk to the emulators. With client 8.x the Spanner
 * emulator needs multiplexed sessions off (see shared/STACK.md).
 */
export function emulatorEnv(hosts: {
  pubsub?: string;
  spanner?: string;
  /** the Cloud Storage emulator's base URL (the Node client reads STORAGE_EMULATOR_HOST) */
  storage?: string;
}): Record<string, string> {
  const env: Record<string, string> = {
    METADATA_SERVER_DETECTION: 'none',
    GOOGLE_CLOUD_PROJECT: 'almanac-test',
  };
  if (hosts.pubsub) env.PUBSUB_EMULATOR_HOST = hosts.pubsub;
  if (hosts.spanner) {
    env.SPANNER_EMULATOR_HOST = hosts.spanner;
    env.GOOGLE_CLOUD_SPANNER_MULTIPLEXED_SESSIONS = 'false';
    env.GOOGLE_CLOUD_SPANNER_MULTIPLEXED_SESSIONS_FOR_RW = 'false';
  }
  if (hosts.storage) env.STORAGE_EMULATOR_HOST = hosts.storage;
  return env;
}

const EMULATORS_IMAGE = 'gcr.io/google.com/cloudsdktool/google-cloud-cli:emulators';
const SPANNER_IMAGE = 'gcr.io/cloud-spanner-emulator/emulator';
const BIGQUERY_IMAGE = 'ghcr.io/goccy/bigquery-emulator:0.6.6';
const STORAGE_IMAGE = 'fsouza/fake-gcs-server:1.52.2';

/** Whether a Docker engine answers (testcontainers rejects within milliseconds when none does). */
async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function withFallback<T extends RunningEmulator>(
  what: string,
  local: () => Promise<T>,
  container: () => Promise<T>,
): Promise<T> {
  try {
    return await local();
  } catch (e) {
    if (!(e instanceof EmulatorUnavailableError)) throw e;
    if (await dockerAvailable()) return container();
    throw new EmulatorUnavailableError(
      `${e.message}\n(no Docker engine answered either, so testcontainers cannot run ${what})`,
    );
  }
}

/** pause and resume of a testcontainers emulator, by the docker CLI */
function dockerPause(id: string): Pick<RunningEmulator, 'pause' | 'resume'> {
  return {
    pause: async () => void execFileSync('docker', ['pause', id]),
    resume: async () => void execFileSync('docker', ['unpause', id]),
  };
}

/** The Pub/Sub emulator: the local SDK's, else a testcontainers one. */
export function startPubSubEmulator(): Promise<RunningEmulator> {
  return withFallback('the Pub/Sub emulator', startLocalPubSubEmulator, async () => {
    const { PubSubEmulatorContainer } = await import('@testcontainers/gcloud');
    const started = await new PubSubEmulatorContainer(EMULATORS_IMAGE).start();
    return {
      host: started.getEmulatorEndpoint(),
      ...dockerPause(started.getId()),
      stop: async () => void (await started.stop()),
    };
  });
}

/** The Spanner emulator: the local SDK's, else a testcontainers one. */
export function startSpannerEmulator(): Promise<RunningEmulator> {
  return withFallback('the Spanner emulator', startLocalSpannerEmulator, async () => {
    const { SpannerEmulatorContainer } = await import('@testcontainers/gcloud');
    const started = await new SpannerEmulatorContainer(SPANNER_IMAGE).start();
    return {
      host: started.getEmulatorGrpcEndpoint(),
      ...dockerPause(started.getId()),
      stop: async () => void (await started.stop()),
    };
  });
}

/** The BigQuery emulator: the local bqemulator, else a testcontainers one (goccy's image). */
export function startBigQueryEmulator(
  opts: SharedObjectsOption = {},
): Promise<RunningHttpEmulator> {
  const local = () => startLocalBigQueryEmulator(opts);
  return withFallback('the BigQuery emulator', local, async () => {
    const { BigQueryEmulatorContainer } = await import('@testcontainers/gcloud');
    const started = await new BigQueryEmulatorContainer(BIGQUERY_IMAGE)
      .withCommand(['--project', 'almanac-test'])
      .start();
    const endpoint = started.getEmulatorEndpoint();
    return {
      host: endpoint.replace(/^https?:\/\//, ''),
      endpoint,
      ...dockerPause(started.getId()),
      stop: async () => void (await started.stop()),
    };
  });
}

/** The Cloud Storage emulator: the local fake-gcs-server, else a testcontainers one. */
export function startStorageEmulator(opts: SharedObjectsOption = {}): Promise<RunningHttpEmulator> {
  const local = () => startLocalStorageEmulator(opts);
  return withFallback('the Cloud Storage emulator', local, async () => {
    const { CloudStorageEmulatorContainer } = await import('@testcontainers/gcloud');
    const started = await new CloudStorageEmulatorContainer(STORAGE_IMAGE).start();
    const endpoint = started.getEmulatorEndpoint();
    return {
      host: endpoint.replace(/^https?:\/\//, ''),
      endpoint,
      ...dockerPause(started.getId()),
      stop: async () => void (await started.stop()),
    };
  });
}

/** A started Spanner emulator with a client and one instance, for an integration spec. */
export interface SpannerTestInstance {
  spanner: Spanner;
  instance: Instance;
  stop(): Promise<void>;
}

/**
 * Starts the Spanner emulator, points this process's clients at it (they read the environment
 * when constructed) and creates an instance: the beforeAll of every Spanner integration spec.
 */
export async function startSpannerTestInstance(instanceId: string): Promise<SpannerTestInstance> {
  const emulator = await startSpannerEmulator();
  Object.assign(process.env, emulatorEnv({ spanner: emulator.host }));
  const { Spanner: SpannerClient } = await import('@google-cloud/spanner');
  const spanner = new SpannerClient({ projectId: 'almanac-test' });
  try {
    const [instance, op] = await spanner.createInstance(instanceId, {
      config: 'emulator-config',
      nodes: 1,
    });
    await op.promise();
    return {
      spanner,
      instance,
      async stop() {
        void spanner.close();
        await emulator.stop();
      },
    };
  } catch (e) {
    void spanner.close();
    await emulator.stop();
    throw e;
  }
}
