import { createHash } from 'node:crypto';
import type { HashParts } from '@almanac/contracts';
import { canonicalJson } from './canonical-json';

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** sha256 of the canonical JSON of one entity's result. */
export function resultDigest(result: unknown): string {
  return sha256(canonicalJson(result));
}

/**
 * The result hash of a computation for a date when it saved nothing: sha256 of the empty
 * string, e3b0c442…b855.
 */
export const EMPTY_RESULT_HASH = sha256('');

/**
 * Result hash of a computation for a date: sha256 over `"<entityId as JSON>":<digest>\n` lines
 * sorted by entity id (then digest), so the order in which workers reported does not matter.
 * JSON-quoting the id keeps the encoding unambiguous whatever characters ids contain.
 */
export function combineResultHashes(pairs: Iterable<[entityId: string, digest: string]>): string {
  const sorted = [...pairs].sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0,
  );
  const h = createHash('sha256');
  for (const [id, digest] of sorted) h.update(`${JSON.stringify(id)}:${digest}\n`);
  return h.digest('hex');
}

/** sha256 of the canonical JSON of the composite hash parts. */
export function compositeHash(parts: HashParts): string {
  return sha256(canonicalJson(parts));
}

/** Digest of the entity ids a run is restricted to (order and duplicates do not matter). */
export function scopeDigest(entityIds: string[]): string {
  const ids = [...new Set(entityIds)].sort();
  return sha256(canonicalJson(ids));
}

function diffRecord(
  prefix: string,
  prev: Record<string, unknown>,
  next: Record<string, unknown>,
): string[] {
  const names = [...new Set([...Object.keys(prev), ...Object.keys(next)])].sort();
  return names
    .filter((n) => !(n in prev) || !(n in next) || prev[n] !== next[n])
    .map((n) => `${prefix}.${n}`);
}

/**
 * Which hash parts differ: 'code', 'epoch', 'inputs.<table>', 'dependencies.<name>',
 * 'previous', 'scope' (in that order). No previous parts → [].
 */
export function diffHashParts(prev: HashParts | null, next: HashParts): string[] {
  if (!prev) return [];
  const changed: string[] = [];
  if (prev.code !== next.code) changed.push('code');
  if (prev.epoch !== next.epoch) changed.push('epoch');
  changed.push(...diffRecord('inputs', prev.inputs, next.inputs));
  changed.push(...diffRecord('dependencies', prev.dependencies, next.dependencies));
  if (prev.previous !== next.previous) changed.push('previous');
  if (prev.scope !== next.scope) changed.push('scope');
  return changed;
}
