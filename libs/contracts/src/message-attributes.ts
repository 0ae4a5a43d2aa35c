/** The trace context keys (W3C Trace Context) an event's metadata may carry onto its message. */
const TRACE_CONTEXT_KEYS = ['traceId', 'traceparent', 'tracestate'] as const;

/**
 * The Pub/Sub attributes of an event's message: its type, id and run for routing, and its trace
 * context (ADR 0022) so that a consumer continues the trace without parsing the data.
 */
export function messageAttributes(e: {
  type: string;
  eventId: string;
  correlationId: string;
  metadata?: Record<string, string | undefined>;
}): Record<string, string> {
  const attributes: Record<string, string> = {
    type: e.type,
    eventId: e.eventId,
    correlationId: e.correlationId,
  };
  for (const key of TRACE_CONTEXT_KEYS) {
    const value = e.metadata?.[key];
    if (value) attributes[key] = value;
  }
  return attributes;
}
