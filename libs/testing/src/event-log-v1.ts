import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Envelope, RawEnvelope } from '@almanac/contracts';

/** test/fixtures/event-log-v1: a log written by the v1 schemas (see its README). */
const EVENT_LOG_V1 = resolve(__dirname, '../../../test/fixtures/event-log-v1/events.jsonl');

/** The fixture's envelopes, in log order, as they were written (every one at schemaVersion 1). */
export function readEventLogV1(): RawEnvelope[] {
  return readFileSync(EVENT_LOG_V1, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as RawEnvelope);
}

/**
 * Appends the fixture to a store, one event per append in log order, so that the store's order is
 * the fixture's. Open the store with `v1Writer` so that nothing is upcast on the way in.
 */
export async function appendEventLogV1(store: {
  append(streamId: string, events: Envelope[]): Promise<unknown>;
}): Promise<RawEnvelope[]> {
  const log = readEventLogV1();
  for (const e of log) await store.append(e.streamId, [e as Envelope]);
  return log;
}
