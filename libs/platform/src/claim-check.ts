import { Storage } from '@google-cloud/storage';
import type { PubSubBusOptions } from '@almanac/messaging';
import { createGcsObjectStore } from '@almanac/storage';
import type { ProjectConfig } from './project-config';
import type { ServiceEnv } from './service-env';

/**
 * The gcp profile's claim check (ADR 0026): with `storage` in almanac.config.ts, messages whose
 * data is larger than storage.claimCheckBytes travel through the bucket; without it, none.
 */
export function gcpClaimCheck(
  config: Pick<ProjectConfig, 'storage'>,
  env: Pick<ServiceEnv, 'GOOGLE_CLOUD_PROJECT' | 'ALMANAC_STORAGE_ENDPOINT'>,
): PubSubBusOptions['claimCheck'] {
  if (!config.storage) return undefined;
  const storage = new Storage({
    projectId: env.GOOGLE_CLOUD_PROJECT,
    ...(env.ALMANAC_STORAGE_ENDPOINT && { apiEndpoint: env.ALMANAC_STORAGE_ENDPOINT }),
  });
  const { bucket, prefix, claimCheckBytes } = config.storage;
  return {
    store: createGcsObjectStore({ storage, bucket, prefix }),
    thresholdBytes: claimCheckBytes,
  };
}
