import { eventIds, makeEvent, resultVersionOf, streams, type Envelope } from '@almanac/contracts';
import type { EventStore } from '@almanac/eventlog';
import type { EventPublisher } from '@almanac/platform';
import {
  ResultsExportError,
  type BigQueryResultsExporter,
  type ResultRow,
  type ResultStore,
} from '@almanac/warehouse';

export interface ResultsExportDeps {
  store: EventStore;
  publisher: EventPublisher;
  results: ResultStore;
  exporter: BigQueryResultsExporter;
  clock: () => Date;
  producer: string;
  /** the version readers of (computation, date) see now (the executor's hash index) */
  currentVersion: (computation: string, date: string) => Promise<string | null>;
}

/** entities read from the result store per call */
const READ_CHUNK = 500;

/**
 * On a ComputationCompleted that completed a version (ADR 0026, Results export): the version's
 * rows go to the BigQuery results table, then ResultsExported is appended to the run's stream. A
 * failure appends ResultsExportFailed (its attempt counted from the log) and throws, so the message
 * is redelivered; the MERGE is idempotent, so a retry after a half-done attempt is safe.
 */
export async function exportCompletedResults(
  deps: ResultsExportDeps,
  event: Envelope<'ComputationCompleted'>,
): Promise<void> {
  const p = event.payload;
  const version = resultVersionOf(p);
  // skipped: the stored version, exported by the run that completed it
  if (p.status !== 'completed' || p.dryRun || version === null) return;
  // a late message of a version since replaced: exporting it would roll the table back
  if ((await deps.currentVersion(p.computation, p.date)) !== version) return;
  const ref = { computation: p.computation, date: p.date, version, runId: p.runId };
  const envelope = { correlationId: p.runId, causationId: event.eventId, producer: deps.producer };
  const streamId = streams.run(p.runId);
  const started = deps.clock().getTime();
  try {
    const rows = await readVersion(deps.results, ref.computation, ref.date, version);
    const { table } = await deps.exporter.exportResultVersion(ref, rows);
    await deps.publisher.publish([
      makeEvent({
        ...envelope,
        type: 'ResultsExported',
        eventId: eventIds.resultsExported(p.computation, p.date, version),
        streamId,
        occurredAt: deps.clock().toISOString(),
        payload: {
          runId: p.runId,
          date: p.date,
          computation: p.computation,
          version,
          rows: rows.length,
          table,
          durationMs: Math.max(0, deps.clock().getTime() - started),
        },
      }),
    ]);
  } catch (e) {
    if (!(e instanceof ResultsExportError)) throw e;
    const earlier = (await deps.store.readStream(streamId)).filter(
      (x) =>
        x.type === 'ResultsExportFailed' &&
        x.payload.computation === p.computation &&
        x.payload.version === version,
    ).length;
    const attempt = earlier + 1;
    await deps.publisher.publish([
      makeEvent({
        ...envelope,
        type: 'ResultsExportFailed',
        eventId: eventIds.resultsExportFailed(p.computation, p.date, version, attempt),
        streamId,
        occurredAt: deps.clock().toISOString(),
        payload: {
          runId: p.runId,
          date: p.date,
          computation: p.computation,
          version,
          table: e.table,
          attempt,
          error: e.message,
          retryable: e.retryable,
        },
      }),
    ]);
    throw e;
  }
}

/** the rows of a version, from the result store's port (hashes, then results by chunk) */
async function readVersion(
  results: ResultStore,
  computation: string,
  date: string,
  version: string,
): Promise<ResultRow[]> {
  const hashes = await results.hashes(computation, date, version);
  const rows: ResultRow[] = [];
  for (let i = 0; i < hashes.length; i += READ_CHUNK) {
    const chunk = hashes.slice(i, i + READ_CHUNK);
    const values = await results.read(
      computation,
      date,
      version,
      chunk.map(([id]) => id),
    );
    for (const [entityId, resultHash] of chunk)
      rows.push({ entityId, result: values.get(entityId) ?? null, resultHash });
  }
  return rows;
}
