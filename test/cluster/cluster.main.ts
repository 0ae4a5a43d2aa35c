// npm run cluster [-- --replicas executor=3,worker=3]: both emulators and the five services on this
// machine, each as one or more processes, until Ctrl-C.
import { existsSync } from 'node:fs';
import { loadProjectConfig, projectPaths } from '@almanac/platform';
import { generateSampleData } from '../../computations/sample-data/generate';
import { REPO_ROOT, startCluster, type Cluster } from './cluster';
import {
  CLUSTER_USAGE,
  ClusterUsageError,
  parseClusterArgs,
  type ClusterArgs,
} from './cluster.args';

async function main() {
  let args: ClusterArgs;
  try {
    args = parseClusterArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof ClusterUsageError)) throw e;
    process.stderr.write(`cluster: ${e.message}\n${CLUSTER_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(`${CLUSTER_USAGE}\n`);
    return;
  }
  const config = loadProjectConfig(REPO_ROOT);
  const warehousePath = projectPaths(REPO_ROOT, config).warehouse;
  if (!existsSync(warehousePath)) {
    if (!config.sample)
      throw new Error(`no warehouse at ${warehousePath} and no "sample" section to generate one`);
    process.stderr.write(`generating sample data into ${warehousePath} ...\n`);
    await generateSampleData({
      path: warehousePath,
      users: config.sample.users,
      days: config.sample.days,
      endDate: config.sample.date,
    });
  }
  // Ctrl-C while the replicas start stops what has started; afterwards it stops the cluster
  const starting = new AbortController();
  const running: { cluster?: Cluster } = {};
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: stopping ...\n`);
    if (!running.cluster) return starting.abort(new Error(`${signal} while starting: stopped`));
    running.cluster.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`cluster: stopping failed: ${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const t0 = performance.now();
  const cluster = (running.cluster = await startCluster({
    warehousePath,
    replicas: args.replicas,
    signal: starting.signal,
    log: (l) => process.stderr.write(`${l}\n`),
    // the services' log lines on this output: JSON lines as they are (each carries its service
    // label), any other line prefixed with the replica's name
    onOutput: (name, line) =>
      process.stdout.write(line.startsWith('{') ? `${line}\n` : `[${name}] ${line}\n`),
  }));
  process.stderr.write(
    [
      `started ${cluster.processes.length} service processes in ${((performance.now() - t0) / 1000).toFixed(1)} s:`,
      ...cluster.processes.map((p) => `  ${p.name.padEnd(12)} ${p.url}  (pid ${p.child.pid})`),
      '',
    ].join('\n'),
  );
  const date = config.sample?.date ?? 'YYYY-MM-DD';
  process.stdout.write(
    [
      // a line of its own, for scripts: the first api replica
      `api: ${cluster.apiUrl}`,
      '',
      `Almanac is running. Request a run and watch it:`,
      `  curl -s -X POST ${cluster.apiUrl}/runs -H 'content-type: application/json' -d '{"date":"${date}"}'`,
      `  curl -s ${cluster.apiUrl}/runs/<runId>`,
      'Ctrl-C stops the services and the emulators.',
      '',
    ].join('\n'),
  );
}

main().catch((e) => {
  process.stderr.write(`cluster: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
