import { AsyncLocalStorage } from 'node:async_hooks';
import { isSpanContextValid, trace, type SpanContext } from '@opentelemetry/api';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import type { LogLevel, LogSink } from '@almanac/kernel';

export type { Logger } from 'pino';

/** `json`: one JSON object a line, the fields Cloud Logging reads; `human`: one readable line. */
export type LogFormat = 'json' | 'human';

/** The labels Cloud Logging indexes (`logging.googleapis.com/labels`); values are strings. */
export interface LogLabels {
  service?: string;
  run?: string;
  computation?: string;
  batch?: string;
  entity?: string;
}

export const TRACE_FIELD = 'logging.googleapis.com/trace';
export const SPAN_FIELD = 'logging.googleapis.com/spanId';
const TRACE_SAMPLED_FIELD = 'logging.googleapis.com/trace_sampled';
export const LABELS_FIELD = 'logging.googleapis.com/labels';

/** pino's levels as Cloud Logging's LogSeverity names */
const SEVERITY: Record<Level, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/** What the message being handled says about the lines written while it is handled. */
interface LogContext {
  labels: LogLabels;
  /** the envelope's `metadata.traceId`: used when no span is active */
  traceId?: string;
}

const logContext = new AsyncLocalStorage<LogContext>();

/** Runs `fn` so that every line logged inside it (its async calls too) carries `ctx`. */
export function withLogContext<T>(ctx: LogContext, fn: () => T): T {
  return logContext.run(ctx, fn);
}

/**
 * The log context of a message: the run (correlationId), computation and batch of its envelope,
 * and its trace id; `type`, the event's. A message that is not an envelope gives only `service`.
 */
export function messageLogContext(data: string, service?: string): LogContext & { type?: string } {
  let e: unknown;
  try {
    e = JSON.parse(data);
  } catch {
    return { labels: { service } };
  }
  if (typeof e !== 'object' || e === null) return { labels: { service } };
  const envelope = e as {
    type?: unknown;
    correlationId?: unknown;
    payload?: { runId?: unknown; computation?: unknown; batch?: unknown };
    metadata?: { traceId?: unknown };
  };
  const p = envelope.payload ?? {};
  const run = p.runId ?? envelope.correlationId;
  const traceId = envelope.metadata?.traceId;
  return {
    type: typeof envelope.type === 'string' ? envelope.type : undefined,
    labels: {
      service,
      run: typeof run === 'string' ? run : undefined,
      computation: typeof p.computation === 'string' ? p.computation : undefined,
      batch: typeof p.batch === 'number' ? String(p.batch) : undefined,
    },
    traceId: typeof traceId === 'string' ? traceId : undefined,
  };
}

/** A W3C trace id, from a bare id or a `traceparent` (`00-<trace>-<span>-<flags>`). */
function traceIdOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(value);
  return m ? m[1] : value;
}

/** The span a `traceparent` names (undefined for anything else). */
function spanOfTraceparent(value: string): SpanContext | undefined {
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value);
  return m ? { traceId: m[1], spanId: m[2], traceFlags: parseInt(m[3], 16) } : undefined;
}

interface LoggerOptions {
  /** the process's service (the `service` label of lines that name none) */
  service: string;
  format: LogFormat;
  /** pino level name (default info) */
  level?: string;
  /** GOOGLE_CLOUD_PROJECT: the trace field is `projects/<it>/traces/<id>` (without it: the id) */
  projectId?: string;
  /** where lines go (default: stdout) */
  write?: (line: string) => void;
}

/**
 * The logger of a service or the CLI. A call names its own labels as `{ labels: {...} }`; the
 * message being handled adds its run, computation and batch, the active span (or the message's
 * trace id) the trace fields.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const write = opts.write ?? ((line: string) => void process.stdout.write(line));
  const destination: DestinationStream = {
    write: opts.format === 'json' ? write : (line) => write(humanLine(line)),
  };
  return pino(
    {
      level: opts.level ?? 'info',
      messageKey: 'message',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ severity: SEVERITY[label as Level] ?? 'DEFAULT' }),
        log: (obj) => cloudLoggingFields(obj, opts),
      },
    },
    destination,
  );
}

function cloudLoggingFields(
  obj: Record<string, unknown>,
  opts: LoggerOptions,
): Record<string, unknown> {
  const {
    labels: own,
    traceparent,
    ...rest
  } = obj as { labels?: LogLabels; traceparent?: string } & Record<string, unknown>;
  const ctx = logContext.getStore();
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries({ service: opts.service, ...ctx?.labels, ...own }))
    if (v !== undefined && v !== null) labels[k] = String(v);
  const out: Record<string, unknown> = { ...rest };
  // a line about an event names the event's own trace (its producer span), whatever is active
  const span = traceparent ? spanOfTraceparent(traceparent) : trace.getActiveSpan()?.spanContext();
  const traceId = span && isSpanContextValid(span) ? span.traceId : traceIdOf(ctx?.traceId);
  if (traceId)
    out[TRACE_FIELD] = opts.projectId ? `projects/${opts.projectId}/traces/${traceId}` : traceId;
  if (span && isSpanContextValid(span)) {
    out[SPAN_FIELD] = span.spanId;
    out[TRACE_SAMPLED_FIELD] = (span.traceFlags & 1) === 1;
  }
  out[LABELS_FIELD] = labels;
  return out;
}

const LABEL_ORDER: Array<keyof LogLabels> = ['run', 'computation', 'batch', 'entity'];

/** One JSON line as `time SEVERITY service [run=.. computation=..] message` for a terminal. */
function humanLine(json: string): string {
  const o = JSON.parse(json) as Record<string, unknown>;
  const labels = (o[LABELS_FIELD] ?? {}) as Record<string, string>;
  const tags = LABEL_ORDER.filter((k) => labels[k] !== undefined).map((k) => `${k}=${labels[k]}`);
  const extra = Object.entries(o)
    .filter(([k]) => !['time', 'severity', 'message', LABELS_FIELD].includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${String(o.time)} ${String(o.severity).padEnd(7)} ${labels.service ?? ''}${tags.length ? ` [${tags.join(' ')}]` : ''} ${String(o.message ?? '')}${extra.length ? ` (${extra.join(', ')})` : ''}\n`;
}

const LEVELS: Record<LogLevel, Level> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** The sink of computations' this.log(): each line at its level, labelled with the entity. */
export function computationLogSink(logger: Logger): LogSink {
  return (line) =>
    logger[LEVELS[line.level] ?? 'info'](
      { labels: { computation: line.computation, entity: line.entityId } },
      line.message,
    );
}

/**
 * A deployed service's format: ALMANAC_LOG_FORMAT if set, else human on a terminal and JSON
 * otherwise (what Cloud Logging reads from a container's stdout).
 */
export function serviceLogFormat(setting: LogFormat | undefined, isTTY: boolean): LogFormat {
  return setting ?? (isTTY ? 'human' : 'json');
}

/** The CLI's format: --log-format, else ALMANAC_LOG_FORMAT, else human (a terminal or not). */
export function cliLogFormat(flag: unknown, env: NodeJS.ProcessEnv): LogFormat {
  return (
    parseLogFormat(flag, '--log-format') ??
    parseLogFormat(env.ALMANAC_LOG_FORMAT, 'ALMANAC_LOG_FORMAT') ??
    'human'
  );
}

export class InvalidLogFormatError extends Error {
  readonly code = 'invalid-log-format';
}

function parseLogFormat(value: unknown, name: string): LogFormat | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'json' || value === 'human') return value;
  throw new InvalidLogFormatError(`${name} must be json or human, got "${String(value)}"`);
}
