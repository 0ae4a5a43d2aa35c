// npm run cluster: both emulators and the five services on this machine, until Ctrl-C.
import { existsSync } from 'node:fs';
import { loadProjectConfig, projectPaths } from '@almanac/platform';
import { generateSampleData } from '../../computations/sample-data/generate';
import { REPO_ROOT, startCluster } from './cluster';

async function main() {
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
  const cluster = await startCluster({ warehousePath, log: (l) => process.stderr.write(`${l}\n`) });
  const date = config.sample?.date ?? 'YYYY-MM-DD';
  process.stdout.write(
    [
      '',
      `Almanac is running. Request a run and watch it:`,
      `  curl -s -X POST ${cluster.apiUrl}/runs -H 'content-type: application/json' -d '{"date":"${date}"}'`,
      `  curl -s ${cluster.apiUrl}/runs/<runId>`,
      'Ctrl-C stops the services and the emulators.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('stopping ...\n');
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((e) => {
  process.stderr.write(`cluster: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
