// npm run bench:distributed [-- --users N]: the example DAG on the five services over the emulators,
// beside its floor: a bare Pub/Sub request/reply of the same number of batches plus bare Spanner
// appends of the same number of events.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';
import { Spanner } from '@google-cloud/spanner';
import type { RunView } from '@almanac/domain/projections';
import { generateSampleData } from '../computations/sample-data/generate';
import { startCluster } from '../test/cluster/cluster';

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const DATE = '2026-01-15';

async function main() {
  const { values } = parseArgs({ options: { users: { type: 'string', default: '5000' } } });
  const users = Number(values.users);
  const dir = mkdtempSync(join(tmpdir(), 'almanac-dbench-'));
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const warehouse = join(dir, 'warehouse.duckdb');
  await generateSampleData({ path: warehouse, users, days: 3, endDate: DATE });
  const cluster = await startCluster({ warehousePath: warehouse, log });
  try {
    const { apiUrl, env } = cluster;
    const t0 = performance.now();
    const res = await fetch(`${apiUrl}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ date: DATE }),
    });
    const { runId } = (await res.json()) as { runId: string };
    let run: RunView | null = null;
    for (;;) {
      const r = await fetch(`${apiUrl}/runs/${runId}`);
      if (r.status === 200) {
        run = (await r.json()) as RunView;
        if (['completed', 'failed', 'rejected'].includes(run.status)) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const runMs = performance.now() - t0;
    if (run.status !== 'completed') throw new Error(`run ${runId} ended ${run.status}`);
    const batches = Object.values(run.computations).reduce((n, c) => n + c.batchCount, 0);

    const spanner = new Spanner({ projectId: env.GOOGLE_CLOUD_PROJECT });
    const database = spanner.instance(env.SPANNER_INSTANCE).database(env.SPANNER_DATABASE);
    const [[countRow]] = await database.run({
      sql: `SELECT COUNT(*) AS n FROM Events WHERE STARTS_WITH(StreamId, @prefix)`,
      params: { prefix: `run-${runId}` },
    });
    const events = Number((countRow.toJSON() as { n: number }).n);
    log(`distributed run: ${s(runMs)}, ${batches} batches, ${events} events`);

    // floor 1: a bare request/reply over Pub/Sub, one message each way per batch
    const pubsub = new PubSub({ projectId: env.GOOGLE_CLOUD_PROJECT });
    const [req] = await pubsub.createTopic('bench-req');
    const [rep] = await pubsub.createTopic('bench-rep');
    const [reqSub] = await req.createSubscription('bench-req-sub');
    const [repSub] = await rep.createSubscription('bench-rep-sub');
    reqSub.on('message', (m) => {
      m.ack();
      void rep.publishMessage({ data: m.data });
    });
    let replies = 0;
    const allReplies = new Promise<void>((resolve) =>
      repSub.on('message', (m) => {
        m.ack();
        if (++replies === batches) resolve();
      }),
    );
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: batches }, (_, i) =>
        req.publishMessage({ data: Buffer.from(String(i)) }),
      ),
    );
    await allReplies;
    const pubsubMs = performance.now() - t1;
    await reqSub.close();
    await repSub.close();
    await pubsub.close();

    // floor 2: bare Spanner appends, one event per read-write transaction, with a version read
    const [op] = await database.updateSchema([
      'CREATE TABLE BenchEvents (StreamId STRING(MAX), Seq INT64, Body STRING(MAX)) PRIMARY KEY (StreamId, Seq)',
    ]);
    await op.promise();
    const t2 = performance.now();
    for (let i = 0; i < events; i++) {
      await database.runTransactionAsync(async (tx) => {
        await tx.run({
          sql: 'SELECT MAX(Seq) FROM BenchEvents WHERE StreamId = @s',
          params: { s: 'bench' },
        });
        tx.insert('BenchEvents', { StreamId: 'bench', Seq: i, Body: '{"payload":{}}' });
        await tx.commit();
      });
    }
    const spannerMs = performance.now() - t2;
    await database.close();
    void spanner.close();

    const floor = pubsubMs + spannerMs;
    process.stdout.write(
      [
        `distributed run:  ${s(runMs)} (${users} users, ${Object.keys(run.computations).length} computations, ${batches} batches, ${events} events)`,
        `floor:            ${s(floor)} = Pub/Sub request/reply of ${batches} batches ${s(pubsubMs)} + ${events} bare Spanner appends ${s(spannerMs)}`,
        `ratio run/floor:  ${(runMs / floor).toFixed(2)}x`,
        '',
      ].join('\n'),
    );
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench:distributed failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
