/**
 * Objects by name (ADR 0026): what does not fit in a message or a row — payloads larger than a
 * Pub/Sub message (claim check) and files staged for BigQuery loads. Cloud Storage in the gcp
 * profile, a folder in the embedded one. Names are relative to the store's prefix and use '/'.
 */
export interface ObjectStore {
  /** writes the whole object at once (a reader never sees half of it); overwrites */
  put(name: string, data: Buffer | string, opts?: { contentType?: string }): Promise<void>;
  /** the object's bytes; throws ObjectNotFoundError naming it when there is none */
  get(name: string): Promise<Buffer>;
  /** the names under `prefix`, sorted */
  list(prefix: string): Promise<string[]>;
  /** deletes the object; an absent one is not an error */
  delete(name: string): Promise<void>;
  /** where the object lives, for other systems and for people: gs://bucket/prefix/name or a path */
  uri(name: string): string;
}

export class ObjectNotFoundError extends Error {
  readonly code = 'object-not-found';
  constructor(readonly uri: string) {
    super(`object not found: ${uri}`);
    this.name = 'ObjectNotFoundError';
  }
}

export class InvalidObjectNameError extends Error {
  readonly code = 'invalid-object-name';
  constructor(name: string, why: string) {
    super(`invalid object name ${JSON.stringify(name)}: ${why}`);
    this.name = 'InvalidObjectNameError';
  }
}

/** Names are relative: no leading '/', no '.' or '..' segment, no empty segment, no NUL. */
export function assertObjectName(name: string): void {
  if (name.length === 0) throw new InvalidObjectNameError(name, 'it is empty');
  if (name.includes('\0')) throw new InvalidObjectNameError(name, 'it contains NUL');
  for (const segment of name.split('/'))
    if (segment === '' || segment === '.' || segment === '..')
      throw new InvalidObjectNameError(name, `it has a "${segment}" segment`);
}
