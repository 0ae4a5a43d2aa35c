import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { randomUUID } from 'node:crypto';
import { assertObjectName, ObjectNotFoundError, type ObjectStore } from './object-store.port';

/**
 * Objects as files under a folder (the embedded profile). A put writes a temporary file and
 * renames it, so that a reader (or a crash) never sees half an object.
 */
export function createFolderObjectStore(root: string): ObjectStore {
  const path = (name: string) => {
    assertObjectName(name);
    return join(root, ...name.split('/'));
  };
  return {
    async put(name, data) {
      const file = path(name);
      await mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.${randomUUID()}.tmp`;
      await writeFile(tmp, data);
      await rename(tmp, file);
    },
    async get(name) {
      try {
        return await readFile(path(name));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT')
          throw new ObjectNotFoundError(path(name));
        throw e;
      }
    },
    async list(prefix) {
      let entries: string[];
      try {
        entries = await readdir(root, { recursive: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
      const names: string[] = [];
      for (const entry of entries) {
        if (entry.endsWith('.tmp')) continue;
        const name = relative(root, join(root, entry)).split(sep).join('/');
        if (name.startsWith(prefix) && (await isFile(join(root, entry)))) names.push(name);
      }
      return names.sort();
    },
    async delete(name) {
      await rm(path(name), { force: true });
    },
    uri: path,
  };
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false; // deleted meanwhile
  }
}
