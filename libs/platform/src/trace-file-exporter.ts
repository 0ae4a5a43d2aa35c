import { appendFileSync } from 'node:fs';
import { SpanKind, type HrTime } from '@opentelemetry/api';
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** One line of a trace file: a finished span. */
export interface TraceFileSpan {
  traceId: string;
  spanId: string;
  /** null: the root of its trace */
  parentSpanId: string | null;
  name: string;
  kind: string;
  /** the resource's service.name */
  service: string;
  startTime: string;
  durationMs: number;
  status: { code: number; message?: string };
  attributes: Record<string, unknown>;
  links: Array<{ traceId: string; spanId: string }>;
}

const isoOf = (t: HrTime) => new Date(hrTimeToMilliseconds(t)).toISOString();

/**
 * For tests and local development, not production: appends each finished span as one JSON line
 * to a file (ALMANAC_TRACE_FILE). Several processes may share the file: each export is one
 * append (O_APPEND), so their lines do not interleave.
 */
export function traceFileExporter(path: string): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
      try {
        const lines = spans.map((s) => JSON.stringify(toLine(s)) + '\n').join('');
        if (lines) appendFileSync(path, lines);
        done({ code: ExportResultCode.SUCCESS });
      } catch (e) {
        done({
          code: ExportResultCode.FAILED,
          error: e instanceof Error ? e : new Error(String(e)),
        });
      }
    },
    shutdown: async () => undefined,
  };
}

function toLine(s: ReadableSpan): TraceFileSpan {
  const { traceId, spanId } = s.spanContext();
  return {
    traceId,
    spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? null,
    name: s.name,
    kind: SpanKind[s.kind],
    service: String(s.resource.attributes[ATTR_SERVICE_NAME] ?? ''),
    startTime: isoOf(s.startTime),
    durationMs: hrTimeToMilliseconds(s.duration),
    status: { code: s.status.code, ...(s.status.message ? { message: s.status.message } : {}) },
    attributes: { ...s.attributes },
    links: s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
  };
}
