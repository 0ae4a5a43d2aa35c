/**
 * The migration command: applies infra/spanner/*.sql to a Spanner database (idempotent).
 *   SPANNER_INSTANCE=almanac SPANNER_DATABASE=almanac [GOOGLE_CLOUD_PROJECT=p] \
 *   [SPANNER_EMULATOR_HOST=127.0.0.1:9010] [SPANNER_CREATE=1] [SPANNER_DDL_DIR=infra/spanner] \
 *   npx tsx libs/eventlog/src/spanner/spanner-migrate.command.ts
 * SPANNER_CREATE=1 creates the instance (emulator only) and the database when they are missing.
 */
import { Spanner } from '@google-cloud/spanner';
import { migrateSpanner, SPANNER_DDL_DIR } from './spanner-migrations';

async function main(): Promise<void> {
  const instanceId = process.env.SPANNER_INSTANCE;
  const databaseId = process.env.SPANNER_DATABASE;
  if (!instanceId || !databaseId) {
    throw new Error(
      'set SPANNER_INSTANCE and SPANNER_DATABASE (and SPANNER_EMULATOR_HOST for the emulator)',
    );
  }
  if (process.env.SPANNER_EMULATOR_HOST) {
    // client 8.x needs these against the emulator (shared/STACK.md)
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    process.env.GOOGLE_CLOUD_SPANNER_MULTIPLEXED_SESSIONS ??= 'false';
    process.env.GOOGLE_CLOUD_SPANNER_MULTIPLEXED_SESSIONS_FOR_RW ??= 'false';
  }
  const spanner = new Spanner({ projectId: process.env.GOOGLE_CLOUD_PROJECT ?? 'almanac-local' });
  try {
    const instance = spanner.instance(instanceId);
    if (process.env.SPANNER_CREATE === '1') {
      const [instanceExists] = await instance.exists();
      if (!instanceExists) {
        if (!process.env.SPANNER_EMULATOR_HOST) {
          throw new Error(
            `instance "${instanceId}" does not exist: create it with gcloud (sizing is a decision, not a default)`,
          );
        }
        const [, op] = await spanner.createInstance(instanceId, {
          config: 'emulator-config',
          nodes: 1,
        });
        await op.promise();
      }
      const [databaseExists] = await instance.database(databaseId).exists();
      if (!databaseExists) {
        const [, op] = await instance.createDatabase(databaseId);
        await op.promise();
      }
    }
    const database = instance.database(databaseId);
    const result = await migrateSpanner(database, process.env.SPANNER_DDL_DIR ?? SPANNER_DDL_DIR);
    console.log(
      `applied: ${result.applied.join(', ') || 'none'}; already applied: ${result.alreadyApplied.join(', ') || 'none'}`,
    );
    await database.close();
  } finally {
    void spanner.close();
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
