/**
 * The provisioning command: creates the Pub/Sub topics and subscriptions of
 * infra/pubsub/topology.json (or the file given) that are missing; idempotent.
 *   npx tsx libs/messaging/src/pubsub/provision-pubsub.main.ts [topology.json]
 * Uses GOOGLE_CLOUD_PROJECT and, for the emulator, PUBSUB_EMULATOR_HOST.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { provisionPubSub } from './provision-pubsub';

async function main() {
  const file = process.argv[2] ?? join(__dirname, '../../../../infra/pubsub/topology.json');
  const topology: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const pubsub = new PubSub();
  try {
    const report = await provisionPubSub(pubsub, topology);
    for (const line of report.created) console.log(`created  ${line}`);
    for (const line of report.existing) console.log(`existing ${line}`);
    for (const line of report.drift) console.warn(`drift    ${line}`);
  } finally {
    await pubsub.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
