export type ManifestErrorCode =
  | 'invalid-config'
  | 'duplicate-name'
  | 'unknown-dependency'
  | 'cycle'
  | 'unknown-computation'
  | 'not-a-computation'
  | 'schedule-gap';

/** A computation set that cannot form a valid DAG, or a config that fails its schema. */
export class ManifestError extends Error {
  constructor(
    readonly code: ManifestErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}
