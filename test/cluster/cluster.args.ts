import { parseArgs } from 'node:util';

export const SERVICES = ['scheduler', 'planner', 'executor', 'worker', 'api'] as const;
export type Service = (typeof SERVICES)[number];
/** processes per service; a service not named gets one */
export type Replicas = Partial<Record<Service, number>>;

export const CLUSTER_USAGE = [
  'usage: npm run cluster -- [--replicas SERVICE=N[,SERVICE=N...]]',
  '  Starts both emulators and every service as its own OS process, until Ctrl-C.',
  `  --replicas  processes per service, 1 each unless given (services: ${SERVICES.join(', ')})`,
  '              e.g. --replicas executor=3,worker=3,planner=2,api=2',
  '  --help      prints this',
].join('\n');

/** A command line `npm run cluster` cannot run: the message names the part that is wrong. */
export class ClusterUsageError extends Error {
  readonly code = 'cluster-usage';
}

/**
 * `executor=3,worker=3` → `{ executor: 3, worker: 3 }`. Throws a ClusterUsageError naming the bad
 * part: an unknown service, a count that is not a positive integer, a service given twice.
 */
export function parseReplicas(spec: string): Replicas {
  const replicas: Replicas = {};
  const given = new Map<Service, string>();
  if (spec.trim() === '')
    throw new ClusterUsageError('--replicas is empty: give SERVICE=N pairs, e.g. executor=3');
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (part === '') throw new ClusterUsageError(`--replicas "${spec}" has an empty entry`);
    const eq = part.indexOf('=');
    if (eq < 0)
      throw new ClusterUsageError(`--replicas: "${part}" is not SERVICE=N (e.g. executor=3)`);
    const name = part.slice(0, eq).trim();
    const count = part.slice(eq + 1).trim();
    if (!(SERVICES as readonly string[]).includes(name))
      throw new ClusterUsageError(
        `--replicas: unknown service "${name}" in "${part}" (services: ${SERVICES.join(', ')})`,
      );
    const service = name as Service;
    if (!/^[1-9][0-9]*$/.test(count))
      throw new ClusterUsageError(
        `--replicas: the count in "${part}" must be a positive integer (1, 2, 3, ...)`,
      );
    const before = given.get(service);
    if (before !== undefined)
      throw new ClusterUsageError(
        `--replicas: ${service} is given twice ("${before}" and "${part}")`,
      );
    given.set(service, part);
    replicas[service] = Number(count);
  }
  return replicas;
}

export type ClusterArgs = { help: true } | { help: false; replicas: Replicas };

/** The command line of `npm run cluster` (without node and the script). */
export function parseClusterArgs(argv: string[]): ClusterArgs {
  let values: { help?: boolean; replicas?: string[] };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean', short: 'h' },
        // several --replicas flags add up: --replicas executor=3 --replicas worker=2
        replicas: { type: 'string', multiple: true },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new ClusterUsageError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) return { help: true };
  const specs = values.replicas ?? [];
  // each flag on its own first, so an empty one is named as such; then all together for duplicates
  for (const spec of specs) parseReplicas(spec);
  return { help: false, replicas: specs.length ? parseReplicas(specs.join(',')) : {} };
}
