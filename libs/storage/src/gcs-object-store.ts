import type { Storage } from '@google-cloud/storage';
import { assertObjectName, ObjectNotFoundError, type ObjectStore } from './object-store.port';

export interface GcsObjectStoreOptions {
  storage: Storage;
  bucket: string;
  /** object names start with this ('' or ending in '/') */
  prefix?: string;
}

/** Objects in a Cloud Storage bucket under a prefix (uploads are single requests: all or nothing). */
export function createGcsObjectStore(opts: GcsObjectStoreOptions): ObjectStore {
  const bucket = opts.storage.bucket(opts.bucket);
  const prefix = opts.prefix ?? '';
  const full = (name: string) => {
    assertObjectName(name);
    return prefix + name;
  };
  const uri = (name: string) => `gs://${opts.bucket}/${full(name)}`;
  return {
    async put(name, data, putOpts = {}) {
      await bucket.file(full(name)).save(typeof data === 'string' ? Buffer.from(data) : data, {
        resumable: false,
        contentType: putOpts.contentType ?? 'application/octet-stream',
      });
    },
    async get(name) {
      try {
        const [content] = await bucket.file(full(name)).download();
        return content;
      } catch (e) {
        if ((e as { code?: number }).code === 404) throw new ObjectNotFoundError(uri(name));
        throw e;
      }
    },
    async list(under) {
      const [files] = await bucket.getFiles({ prefix: prefix + under });
      return files.map((f) => f.name.slice(prefix.length)).sort();
    },
    async delete(name) {
      await bucket.file(full(name)).delete({ ignoreNotFound: true });
    },
    uri,
  };
}
