import { InvalidPrefixError } from './event-store.errors';

const MAX_CODE_POINT = 0x10ffff;
/** with the `u` flag this matches only surrogates that are not part of a pair */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Stream ids `id` with `lo <= id < hi` (every `id >= lo` when there is no `hi`). */
export interface StreamIdRange {
  lo: string;
  hi?: string;
}

/**
 * The key range holding exactly the stream ids that start with `prefix`.
 *
 * SQLite (BINARY collation) and Spanner compare strings as UTF-8 bytes, i.e. by code point, not
 * by UTF-16 code unit as JavaScript does. So `hi` is the prefix with its last code point
 * incremented (U+D7FF steps over the surrogates to U+E000; trailing U+10FFFF are dropped first).
 * Incrementing the last code unit instead would give an empty range after U+FFFF or U+xxDFFF.
 */
export function streamIdRange(prefix: string): StreamIdRange {
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new InvalidPrefixError(
      prefix,
      'expected a non-empty string (to read every stream, use readAll)',
    );
  }
  if (LONE_SURROGATE.test(prefix)) {
    throw new InvalidPrefixError(
      prefix,
      'it contains a lone UTF-16 surrogate, which no stored stream id can contain',
    );
  }
  const points = Array.from(prefix, (c) => c.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last === MAX_CODE_POINT) continue;
    points.push(last === 0xd7ff ? 0xe000 : last + 1);
    return { lo: prefix, hi: String.fromCodePoint(...points) };
  }
  // only U+10FFFF: no string is greater than these without starting with them
  return { lo: prefix };
}
