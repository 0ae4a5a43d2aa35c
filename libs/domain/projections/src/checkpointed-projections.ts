import { sha256 } from '@almanac/kernel';
import { type Envelope, type EventSchemas, eventSchemas } from '@almanac/contracts';
import { type Checkpoint, CheckpointCorruptError, type CheckpointStore } from './checkpoint';
import {
  applier,
  checkPositiveInteger,
  initialViews,
  type PagedLog,
  type ProjectionSet,
  ProjectionFailedError,
  readEvents,
} from './log-fold';
import type { LogReader } from './projection-runner';
import { asJson, diffJson, type ViewDifference } from './view-diff';

export interface CheckpointedProjectionsOptions {
  /** the checkpoint's key: each set of views kept by a process has its own (default 'views') */
  group?: string;
  /** events per readAll call (default 5000) */
  pageSize?: number;
  /** also save a checkpoint every this many events applied within one catch-up (default 10000) */
  saveEveryEvents?: number;
  /**
   * at the end of a catch-up, save only if the last save is at least this old (default 0: always).
   * A server that catches up on every request sets it so that reads do not turn into writes; a
   * checkpoint behind the live views only means more events to read at the next start.
   */
  minSaveIntervalMs?: number;
  /**
   * version of the reducers: bump it when an evolve changes behaviour, so that a checkpoint
   * folded by the old code is discarded and the views are folded again from the log (default '1')
   */
  version?: string;
  /**
   * the schema versions the log's events are read at (default: the contracts' own): a handled
   * event type at another version makes another fingerprint (ADR 0011)
   */
  schemas?: Pick<EventSchemas, 'versionOf'>;
}

export interface RebuildReport {
  /** events folded */
  events: number;
  /** position of the last of them (null: empty log) */
  position: string | null;
}

export interface VerifyReport {
  /** the live views equal the views folded from scratch up to `position` */
  equal: boolean;
  /** the position both were compared at: the live views' position after catching up */
  position: string | null;
  /** events folded from scratch */
  events: number;
  /** at most MAX_VERIFY_DIFFERENCES of them, depth first, view by view */
  differences: ViewDifference[];
}

export const MAX_VERIFY_DIFFERENCES = 50;

/** An event as foldUntil needs it: with the time the log recorded it. */
export type RecordedLogReader = PagedLog<Envelope & { position: string; recordedAt: string }>;

/** foldUntil got something that is not an ISO-8601 timestamp with a time and a zone. */
export class InvalidAsOfError extends Error {
  readonly code = 'invalid-as-of';
  readonly retryable = false;
  constructor(readonly asOf: string) {
    super(
      `invalid as-of time "${asOf}": expected an ISO-8601 timestamp with a zone, ` +
        `e.g. 2026-01-15T02:00:00Z or 2026-01-15T03:00:00.250+01:00`,
    );
    this.name = 'InvalidAsOfError';
  }
}

/**
 * Identifies what produced a set of views: the view names, each projection's name and event
 * types with the schema version each is read at, and the reducers' version. A checkpoint with
 * another fingerprint is not used: views folded from events of another shape are folded again.
 */
export function projectionsFingerprint<Views extends Record<string, unknown>>(
  projections: ProjectionSet<Views>,
  version: string,
  schemas: Pick<EventSchemas, 'versionOf'> = eventSchemas,
): string {
  const described = Object.keys(projections)
    .sort()
    .map((key) => {
      const p = projections[key as keyof Views];
      return [key, p.name, [...p.handles].sort().map((t) => `${t}@${schemas.versionOf(t)}`)];
    });
  return sha256(JSON.stringify({ version, views: described }));
}

interface Folded<Views> {
  views: Views;
  position: string | null;
  events: number;
}

/**
 * Views kept up to date with the log and checkpointed, so that a restart reads only what was
 * appended since the last checkpoint instead of the whole log.
 *
 * THE CHECKPOINT RULE. A checkpoint's position is the log position of the last event applied to
 * its views. Positions are in COMMIT order in both adapters — SQLite: the rowid, assigned under
 * the single write lock; Spanner: (commit timestamp, stream, seq), read with strong reads — so a
 * position says what was durably visible, and every event not yet visible commits later and sorts
 * after it. The position is never the highest occurredAt seen, nor the wall clock: an event
 * committed late (stamped earlier by its writer, or in a transaction begun before the reader
 * read) still sorts after the checkpoint and is applied by the next catchUp.
 *
 * catchUp, rebuild and verify run one at a time, in call order. The views are live objects:
 * read them, never change them.
 */
export class CheckpointedProjections<Views extends Record<string, unknown>> {
  private live: { views: Views; position: string | null };
  /** the checkpoint was looked for (found, stale or absent) */
  private restored = false;
  /** the live views are ahead of the saved checkpoint */
  private unsaved = false;
  private tail: Promise<unknown> = Promise.resolve();
  private queuedCatchUp: Promise<void> | undefined;
  private readonly apply: (views: Views, event: Envelope & { position: string }) => void;
  private readonly keys: string[];
  private readonly group: string;
  private readonly pageSize: number;
  private readonly saveEvery: number;
  private readonly minSaveIntervalMs: number;
  private lastSavedAt = Number.NEGATIVE_INFINITY;
  readonly fingerprint: string;

  constructor(
    private readonly log: LogReader,
    private readonly projections: ProjectionSet<Views>,
    private readonly checkpoints: CheckpointStore,
    opts: CheckpointedProjectionsOptions = {},
  ) {
    this.group = opts.group ?? 'views';
    if (this.group.length === 0) throw new RangeError('group must not be empty');
    this.pageSize = checkPositiveInteger('pageSize', opts.pageSize ?? 5000);
    this.saveEvery = checkPositiveInteger('saveEveryEvents', opts.saveEveryEvents ?? 10_000);
    this.minSaveIntervalMs = opts.minSaveIntervalMs ?? 0;
    this.fingerprint = projectionsFingerprint(projections, opts.version ?? '1', opts.schemas);
    this.keys = Object.keys(projections);
    this.apply = applier(projections);
    this.live = this.fresh();
  }

  /** the views, as of `position` */
  get views(): Views {
    return this.live.views;
  }

  /** log position of the last event applied to the views (null: none) */
  get position(): string | null {
    return this.live.position;
  }

  /**
   * Applies every event committed after `position` (the checkpoint's, on the first call), then
   * saves a checkpoint. Callers arriving while a catch-up waits its turn share it: it starts after
   * their call, so it sees everything they may have appended before calling.
   */
  catchUp(): Promise<void> {
    if (this.queuedCatchUp) return this.queuedCatchUp;
    const queued = this.serial(async () => {
      if (this.queuedCatchUp === queued) this.queuedCatchUp = undefined;
      await this.catchUpNow();
    });
    this.queuedCatchUp = queued;
    return queued;
  }

  /** Drops the checkpoint, folds the whole log into fresh views, makes them live and saves them. */
  rebuild(): Promise<RebuildReport> {
    return this.serial(async () => {
      await this.checkpoints.clear(this.group);
      // if the fold fails, the live views are still right but no longer saved
      this.unsaved = true;
      const scratch = await this.foldFromStart(undefined);
      this.live = { views: scratch.views, position: scratch.position };
      this.restored = true;
      await this.save();
      return { events: scratch.events, position: scratch.position };
    });
  }

  /**
   * Catches up, then folds the log from scratch up to the same position into separate views and
   * compares them with the live ones as JSON (what a checkpoint stores). Changes neither the live
   * views nor the checkpoint.
   */
  verify(): Promise<VerifyReport> {
    return this.serial(async () => {
      await this.catchUpNow();
      const target = this.live.position;
      // commit order: the events up to `target` are exactly those the live views hold, whatever
      // was appended since
      const scratch: Folded<Views> =
        target === null ? { ...this.fresh(), events: 0 } : await this.foldFromStart(target);
      const differences: ViewDifference[] = [];
      if (scratch.position !== target) {
        // the live position is not in this log (a checkpoint of another database?)
        differences.push({
          view: '(log)',
          path: '/position',
          live: target,
          rebuilt: scratch.position,
        });
      }
      for (const key of this.keys) {
        const live = asJson(this.live.views[key]);
        diffJson(key, live, asJson(scratch.views[key]), differences, MAX_VERIFY_DIFFERENCES);
      }
      return {
        equal: differences.length === 0,
        position: target,
        events: scratch.events,
        differences,
      };
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private fresh(): { views: Views; position: string | null } {
    return { views: initialViews(this.projections), position: null };
  }

  private async catchUpNow(): Promise<void> {
    if (!this.restored) await this.restore();
    let sinceSave = 0;
    try {
      for await (const event of readEvents(this.log, this.live.position, this.pageSize)) {
        this.apply(this.live.views, event);
        this.live.position = event.position;
        this.unsaved = true;
        if (++sinceSave >= this.saveEvery) {
          await this.save();
          sinceSave = 0;
        }
      }
    } catch (e) {
      // a view may be half-changed by the failed evolve: start again from the checkpoint
      if (e instanceof ProjectionFailedError) {
        this.live = this.fresh();
        this.restored = false;
        this.unsaved = false;
      }
      throw e;
    }
    if (this.unsaved && Date.now() - this.lastSavedAt >= this.minSaveIntervalMs) await this.save();
  }

  /** Saves the live views if they are ahead of the checkpoint (on shutdown). */
  flush(): Promise<void> {
    const run = this.tail.then(() => (this.unsaved ? this.save() : undefined));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async restore(): Promise<void> {
    const saved = await this.loadCheckpoint();
    if (saved && this.matches(saved)) {
      this.live = { views: saved.views as Views, position: saved.position };
      this.unsaved = false;
    } else {
      // a stale or missing checkpoint is replaced at the end of this catch-up
      this.live = this.fresh();
      this.unsaved = true;
    }
    this.restored = true;
  }

  private async loadCheckpoint(): Promise<Checkpoint | null> {
    try {
      return await this.checkpoints.load(this.group);
    } catch (e) {
      // the log holds everything: fold it again rather than refuse to serve
      if (e instanceof CheckpointCorruptError) return null;
      throw e;
    }
  }

  private matches(saved: Checkpoint): boolean {
    return (
      saved.fingerprint === this.fingerprint &&
      this.keys.every((k) => Object.hasOwn(saved.views, k))
    );
  }

  private async save(): Promise<void> {
    await this.checkpoints.save(this.group, {
      position: this.live.position,
      views: this.live.views,
      fingerprint: this.fingerprint,
    });
    this.unsaved = false;
    this.lastSavedAt = Date.now();
  }

  /** Folds from the first event, into fresh views, up to `until` included (the end if absent). */
  private async foldFromStart(until: string | undefined): Promise<Folded<Views>> {
    const out: Folded<Views> = { ...this.fresh(), events: 0 };
    const apply = applier(this.projections);
    for await (const event of readEvents(this.log, null, this.pageSize)) {
      apply(out.views, event);
      out.position = event.position;
      out.events++;
      if (event.position === until) break;
    }
    return out;
  }
}

const ISO_INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Nanoseconds since the epoch: compares SQLite's millisecond and Spanner's nanosecond stamps. */
function instantNanos(iso: string): bigint | undefined {
  const m = ISO_INSTANT.exec(iso);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * The views as of `asOf`: folded from every event the log recorded at or before it, in log order,
 * stopping at the first event recorded later (for `--as-of` queries).
 */
export async function foldUntil<Views extends Record<string, unknown>>(
  log: RecordedLogReader,
  projections: ProjectionSet<Views>,
  asOf: string,
  opts: { pageSize?: number } = {},
): Promise<Views> {
  const limit = instantNanos(asOf);
  if (limit === undefined) throw new InvalidAsOfError(asOf);
  const pageSize = checkPositiveInteger('pageSize', opts.pageSize ?? 5000);
  const views = initialViews(projections);
  const apply = applier(projections);
  for await (const event of readEvents(log, null, pageSize)) {
    const at = instantNanos(event.recordedAt);
    if (at === undefined)
      throw new RangeError(
        `event "${event.eventId}" has an invalid recordedAt "${event.recordedAt}"`,
      );
    if (at > limit) break;
    apply(views, event);
  }
  return views;
}
