import { Storage } from '@google-cloud/storage';
import type { PubSubBusOptions } from '@almanac/messaging';
import { createGcsObjectStore, type ObjectStore } from '@almanac/storage';
import type { ProjectConfig } from './project-config';
import type { ServiceEnv } from './service-env';

type StorageEnv = Pick<ServiceEnv, 'GOOGLE_CLOUD_PROJECT' | 'ALMANAC_STORAGE_ENDPOINT'>;

/** The bucket of `storage` in almanac.config.ts under its prefix (ADR 0026); none without it. */
export function gcpObjectStore(
  config: Pick<ProjectConfig, 'storage'>,
  env: StorageEnv,
): ObjectStore | undefined {
  if (!config.storage) return undefined;
  const storage = new Storage({
    projectId: env.GOOGLE_CLOUD_PROJECT,
    ...(env.ALMANAC_STORAGE_ENDPOINT && { apiEndpoint: env.ALMANAC_STORAGE_ENDPOINT }),
  });
  const { bucket, prefix } = config.storage;
  return createGcsObjectStore({ storage, bucket, prefix });
}

/**
 * The gcp profile's claim check (ADR 0026): with `storage` in almanac.config.ts, messages whose
 * data is larger than storage.claimCheckBytes travel through the bucket; without it, none.
 */
export function gcpClaimCheck(
  config: Pick<ProjectConfig, 'storage'>,
  env: StorageEnv,
  store = gcpObjectStore(config, env),
): PubSubBusOptions['claimCheck'] {
  if (!config.storage || !store) return undefined;
  return { store, thresholdBytes: config.storage.claimCheckBytes };
}
