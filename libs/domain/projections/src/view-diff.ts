/** One place where a live view and its rebuilt copy disagree. */
export interface ViewDifference {
  /** the view's name (key of the views object) */
  view: string;
  /** JSON Pointer (RFC 6901) inside the view; '' is the whole view */
  path: string;
  /** the value in the live view (undefined: absent) */
  live: unknown;
  /** the value in the view rebuilt from the log (undefined: absent) */
  rebuilt: unknown;
}

const escapeToken = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Appends to `out` the differences between two JSON values, depth first, until `out` holds
 * `limit` entries. Both values must be plain JSON (as JSON.parse returns).
 */
export function diffJson(
  view: string,
  live: unknown,
  rebuilt: unknown,
  out: ViewDifference[],
  limit: number,
  path = '',
): void {
  if (out.length >= limit) return;
  if (Array.isArray(live) && Array.isArray(rebuilt)) {
    const n = Math.max(live.length, rebuilt.length);
    for (let i = 0; i < n && out.length < limit; i++)
      diffJson(view, live[i], rebuilt[i], out, limit, `${path}/${i}`);
    return;
  }
  if (isObject(live) && isObject(rebuilt)) {
    const keys = new Set([...Object.keys(live), ...Object.keys(rebuilt)]);
    for (const key of keys) {
      if (out.length >= limit) return;
      const child = `${path}/${escapeToken(key)}`;
      const inLive = Object.hasOwn(live, key);
      const inRebuilt = Object.hasOwn(rebuilt, key);
      if (inLive && inRebuilt) diffJson(view, live[key], rebuilt[key], out, limit, child);
      else
        out.push({
          view,
          path: child,
          live: inLive ? live[key] : undefined,
          rebuilt: inRebuilt ? rebuilt[key] : undefined,
        });
    }
    return;
  }
  if (live !== rebuilt) out.push({ view, path, live, rebuilt });
}

/** The value as a checkpoint would store it: what the views contract says a view is. */
export const asJson = (value: unknown): unknown =>
  value === undefined ? undefined : JSON.parse(JSON.stringify(value));
