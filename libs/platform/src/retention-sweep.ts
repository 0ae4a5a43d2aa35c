import { eventIds, makeEvent, streams, type Envelope } from '@almanac/contracts';
import {
  decideRetention,
  expiredVersionsProjection,
  hashIndexProjection,
  hashKey,
  ProjectionRunner,
  type ExpiredVersions,
  type HashIndex,
  type LogReader,
  type StoredDate,
} from '@almanac/domain/projections';
import { addDays, sha256 } from '@almanac/kernel';
import type { ResultStore } from '@almanac/warehouse';
import type { EventPublisher } from './event-publisher';
import type { LoadedProject } from './load-computations';

/** A version written this recently may still be written or read by a run of its date. */
export const RETENTION_IN_USE_MS = 24 * 60 * 60 * 1000;

export interface RetentionReport {
  /** the sweep's time */
  now: string;
  dryRun: boolean;
  /** per computation: its ttlDays and the first date it keeps */
  computations: Array<{ computation: string; ttlDays: number; cutoff: string }>;
  /** expiries recorded by this sweep (with --dry-run: that it would record) */
  expired: Array<{ computation: string; date: string; versions: string[]; current: string | null }>;
  /** versions deleted (or that would be), recorded by this sweep or by an earlier one */
  deleted: Array<{ computation: string; date: string; versions: string[] }>;
}

type Views = { hashIndex: HashIndex; expired: ExpiredVersions };

/**
 * Removes the results of dates older than each computation's `ttlDays` (ADR 0018): for every
 * version to remove it first appends a ResultVersionsExpired, then deletes the rows; deletion is
 * driven by the log, so a sweep killed between the two is finished by the next one, and two
 * sweeps at once (two scheduler replicas) append each expiry once.
 *
 * The scheduler's periodic tick (or any long-lived caller) keeps one instance: its views of the
 * log are caught up incrementally.
 */
export class RetentionSweep {
  private readonly views: ProjectionRunner<Views>;

  constructor(
    private readonly deps: {
      log: LogReader;
      publisher: EventPublisher;
      results: ResultStore;
      project: LoadedProject;
      /** who appends the expiries (`scheduler`, `cli`) */
      producer: string;
      inUseMs?: number;
    },
  ) {
    this.views = new ProjectionRunner<Views>(deps.log, {
      hashIndex: hashIndexProjection,
      expired: expiredVersionsProjection,
    });
  }

  async sweep(opts: { now: Date; dryRun?: boolean }): Promise<RetentionReport> {
    const { results, project, publisher, producer } = this.deps;
    const dryRun = opts.dryRun ?? false;
    const today = opts.now.toISOString().slice(0, 10);
    const inUseSince = opts.now.getTime() - (this.deps.inUseMs ?? RETENTION_IN_USE_MS);
    await this.views.catchUp();
    const { hashIndex, expired } = this.views.views;
    const report: RetentionReport = {
      now: opts.now.toISOString(),
      dryRun,
      computations: [],
      expired: [],
      deleted: [],
    };
    for (const entry of [...project.manifest.entries.values()].sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const computation = entry.name;
      const ttlDays = entry.config.ttlDays;
      // dates before the cutoff, and any later date an earlier sweep recorded (ttlDays raised)
      const cutoff = addDays(today, -ttlDays);
      const recordedDates = Object.keys(expired)
        .filter((k) => k.startsWith(`${computation}|`))
        .map((k) => k.slice(computation.length + 1));
      const before = [cutoff, ...recordedDates.map((d) => addDays(d, 1))].sort().pop()!;
      const stored: StoredDate[] = [];
      for (const date of await results.datesBefore(computation, before))
        stored.push({ date, versions: await results.versions(computation, date) });
      const decision = decideRetention({
        computation,
        ttlDays,
        today,
        inUseSince,
        stored,
        expired,
        current: (date) => hashIndex[hashKey(computation, date)]?.resultVersion ?? null,
      });
      report.computations.push({ computation, ttlDays, cutoff: decision.cutoff });
      for (const e of decision.expire) report.expired.push({ computation, ...e });
      for (const r of decision.remove) report.deleted.push({ computation, ...r });
      if (dryRun) continue;
      // the log first: a deletion nobody recorded never happens
      const events: Envelope[] = decision.expire.map((e) =>
        makeEvent({
          type: 'ResultVersionsExpired',
          eventId: eventIds.resultVersionsExpired(
            computation,
            e.date,
            sha256(e.versions.join('\n')).slice(0, 16),
          ),
          streamId: streams.retention(computation),
          correlationId: `retention-${today}`,
          causationId: null,
          producer,
          occurredAt: opts.now.toISOString(),
          payload: {
            computation,
            date: e.date,
            versions: e.versions,
            current: e.current,
            ttlDays,
            cutoff: decision.cutoff,
          },
        }),
      );
      if (events.length) await publisher.publish(events);
      for (const r of decision.remove)
        await results.deleteVersions(computation, r.date, r.versions);
    }
    return report;
  }
}
