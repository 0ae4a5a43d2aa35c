import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { objectStoreConformance } from './conformance/object-store.conformance';
import { createFolderObjectStore } from './folder-object-store';

objectStoreConformance('folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'almanac-objects-'));
  return {
    store: createFolderObjectStore(join(dir, 'objects')),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
