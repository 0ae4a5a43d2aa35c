import { Storage } from '@google-cloud/storage';
import { startStorageEmulator, type RunningHttpEmulator } from '@almanac/emulators';
import { gcpClaimCheck } from './claim-check';
import { parseProjectConfig } from './project-config';

let emulator: RunningHttpEmulator;
beforeAll(async () => {
  emulator = await startStorageEmulator();
}, 60_000);
afterAll(async () => {
  await emulator?.stop();
});

const base = {
  warehouse: { path: 'warehouse.duckdb' },
  tables: {},
  entities: { table: 'users', idField: 'user_id' },
};

describe('the gcp profile claim check', () => {
  it('given storage in the config, then claims go to its bucket under its prefix, above claimCheckBytes', async () => {
    const storage = new Storage({ projectId: 'almanac-test', apiEndpoint: emulator.endpoint });
    await storage.createBucket('acme-almanac');
    const config = parseProjectConfig({ ...base, storage: { bucket: 'acme-almanac' } });
    const claimCheck = gcpClaimCheck(config, {
      GOOGLE_CLOUD_PROJECT: 'almanac-test',
      ALMANAC_STORAGE_ENDPOINT: emulator.endpoint,
    });
    expect(claimCheck?.thresholdBytes).toBe(9 * 1024 * 1024);
    await claimCheck?.store.put('claims/t/1', 'payload');
    const [content] = await storage.bucket('acme-almanac').file('almanac/claims/t/1').download();
    expect(content.toString()).toBe('payload');
    expect(claimCheck?.store.uri('claims/t/1')).toBe('gs://acme-almanac/almanac/claims/t/1');
  });

  it('given no storage in the config, then there is no claim check', () => {
    expect(
      gcpClaimCheck(parseProjectConfig(base), { GOOGLE_CLOUD_PROJECT: 'almanac-test' }),
    ).toBeUndefined();
  });
});
