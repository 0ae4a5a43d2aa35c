import { Storage } from '@google-cloud/storage';
import { startStorageEmulator, type RunningHttpEmulator } from '@almanac/emulators';
import { objectStoreConformance } from './conformance/object-store.conformance';
import { createGcsObjectStore } from './gcs-object-store';

let emulator: RunningHttpEmulator;
let storage: Storage;
let n = 0;
beforeAll(async () => {
  emulator = await startStorageEmulator();
  storage = new Storage({ projectId: 'almanac-test', apiEndpoint: emulator.endpoint });
}, 60_000);
afterAll(async () => {
  await emulator?.stop();
});

objectStoreConformance('Cloud Storage (fake-gcs-server)', async () => {
  const bucket = `objects-${++n}`;
  await storage.createBucket(bucket);
  return {
    store: createGcsObjectStore({ storage, bucket, prefix: 'almanac/' }),
    dispose: async () => {
      await storage.bucket(bucket).deleteFiles({ force: true });
      await storage.bucket(bucket).delete();
    },
  };
});
