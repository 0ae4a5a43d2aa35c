import { CheckpointCorruptError } from '@almanac/domain/projections';
import { CheckpointNotSerializableError } from './checkpoint-store.errors';

/** The views as JSON text, checked before anything is written. */
export function serialiseViews(group: string, views: Record<string, unknown>): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(views);
  } catch (e) {
    throw new CheckpointNotSerializableError(group, e);
  }
  if (typeof text !== 'string')
    throw new CheckpointNotSerializableError(group, new Error('the views are not an object'));
  return text;
}

export function parseViews(group: string, text: string): Record<string, unknown> {
  let views: unknown;
  try {
    views = JSON.parse(text);
  } catch (e) {
    throw new CheckpointCorruptError(group, `the views are not JSON (${(e as Error).message})`);
  }
  if (typeof views !== 'object' || views === null || Array.isArray(views))
    throw new CheckpointCorruptError(group, 'the views are not a JSON object');
  return views as Record<string, unknown>;
}
