// npm run infra:generate -- --help
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseTopology, type PubSubTopology } from '@almanac/messaging';
import { kubernetes } from './kubernetes';
import { terraform } from './terraform';

const USAGE = `usage:
  npm run infra:generate -- terraform
      writes infra/gcp/almanac.tf.json from infra/pubsub/topology.json and infra/gcp/services.ts
  npm run infra:generate -- kubernetes --project ID --registry REGISTRY --tag TAG [--prometheus URL]
      prints the Kubernetes manifests (a v1 List, JSON) for kubectl apply -f -
options:
  --project ID         the GCP project id (service account emails, Workload Identity)
  --registry REGISTRY  where the images are (e.g. europe-west1-docker.pkg.dev/ID/almanac):
                       each service runs REGISTRY/almanac-<service>:TAG, the migrate Job
                       REGISTRY/almanac-migrate:TAG (infra/docker/*.Dockerfile)
  --tag TAG            the images' tag
  --prometheus URL     Prometheus query endpoint KEDA asks for the api's request rate
                       (default http://frontend.almanac.svc:9090, Managed Prometheus' frontend)
  --help               this text`;

const root = join(__dirname, '..', '..');
export const TERRAFORM_FILE = join(root, 'infra', 'gcp', 'almanac.tf.json');

export function loadTopology(): PubSubTopology {
  const file = join(root, 'infra', 'pubsub', 'topology.json');
  return parseTopology(JSON.parse(readFileSync(file, 'utf8')));
}

export const renderJson = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      project: { type: 'string' },
      registry: { type: 'string' },
      tag: { type: 'string' },
      prometheus: { type: 'string', default: 'http://frontend.almanac.svc:9090' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [what] = positionals;
  if (what === 'terraform') {
    writeFileSync(TERRAFORM_FILE, renderJson(terraform(loadTopology())));
    process.stderr.write(`wrote ${TERRAFORM_FILE}\n`);
    return 0;
  }
  if (what === 'kubernetes') {
    const missing = (['project', 'registry', 'tag'] as const).filter((k) => !values[k]);
    if (missing.length > 0) {
      process.stderr.write(
        `kubernetes needs ${missing.map((m) => `--${m}`).join(' and ')}\n${USAGE}\n`,
      );
      return 2;
    }
    const items = kubernetes(loadTopology(), {
      project: values.project as string,
      registry: values.registry as string,
      tag: values.tag as string,
      prometheus: values.prometheus as string,
    });
    for (const item of items) item.validate();
    process.stdout.write(renderJson({ apiVersion: 'v1', kind: 'List', items }));
    return 0;
  }
  process.stderr.write(`${what ? `unknown target "${what}"` : 'no target given'}\n${USAGE}\n`);
  return 2;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
