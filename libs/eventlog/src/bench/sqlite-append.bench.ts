// Append throughput of the SQLite event store on a temp file.
// Run: npx tsx libs/eventlog/src/bench/sqlite-append.bench.ts
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeEvent } from '@almanac/contracts';
import { createSqliteEventStore } from '../sqlite-event-store';

const N = 1000;
const event = (eventId: string, streamId: string, batch: number) =>
  makeEvent({
    type: 'BatchDone',
    eventId,
    streamId,
    correlationId: 'r1',
    causationId: `BatchRequested:r1:A:1:${batch}`,
    producer: 'bench',
    occurredAt: '2026-01-15T00:00:00.000Z',
    payload: {
      runId: 'r1',
      date: '2026-01-15',
      computation: 'A',
      attempt: 1,
      batch,
      processed: 1000,
      saved: 998,
      failures: [
        { entityId: 'u1', message: 'boom' },
        { entityId: 'u2', message: 'boom' },
      ],
      durationMs: 12.5,
    },
  });

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-eventlog-bench-'));
  try {
    const store = createSqliteEventStore(path.join(dir, 'events.db'));
    const singles = Array.from({ length: N }, (_, i) => event(`single-${i}`, 'run-r1-A', i));
    let t = process.hrtime.bigint();
    for (let i = 0; i < N; i++)
      await store.append('run-r1-A', [singles[i]], { expectedVersion: i });
    const singleMs = Number(process.hrtime.bigint() - t) / 1e6;

    const batch = Array.from({ length: N }, (_, i) => event(`batch-${i}`, 'run-r1-B', i));
    t = process.hrtime.bigint();
    await store.append('run-r1-B', batch, { expectedVersion: 0 });
    const batchMs = Number(process.hrtime.bigint() - t) / 1e6;

    t = process.hrtime.bigint();
    const all = await store.readAll();
    const readMs = Number(process.hrtime.bigint() - t) / 1e6;
    await store.close();

    const rate = (ms: number) => Math.round((N / ms) * 1000);
    console.log(
      `${N} single-event appends: ${singleMs.toFixed(1)} ms, ${rate(singleMs)} appends/s`,
    );
    console.log(`one ${N}-event append:    ${batchMs.toFixed(1)} ms, ${rate(batchMs)} events/s`);
    console.log(`readAll of ${all.length} events: ${readMs.toFixed(1)} ms`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
