import { bigQueryClient, WarehouseConfigError } from './open-warehouse';

describe('bigQueryClient', () => {
  const settings = { dataset: 'sample', location: 'US', pricePerTiB: 6.25 };

  it('needs a project: warehouse.bigquery.projectId or GOOGLE_CLOUD_PROJECT', () => {
    expect(() => bigQueryClient(settings, {})).toThrow(WarehouseConfigError);
    expect(() => bigQueryClient(settings, {})).toThrow(
      'set warehouse.bigquery.projectId in almanac.config.ts or GOOGLE_CLOUD_PROJECT',
    );
  });

  it('takes the configured project over GOOGLE_CLOUD_PROJECT, and the emulator endpoint', () => {
    const env = {
      GOOGLE_CLOUD_PROJECT: 'env-project',
      ALMANAC_BIGQUERY_ENDPOINT: 'http://127.0.0.1:9',
    };
    expect(bigQueryClient(settings, env).projectId).toBe('env-project');
    const { bigquery, projectId } = bigQueryClient({ ...settings, projectId: 'configured' }, env);
    expect(projectId).toBe('configured');
    expect(bigquery.apiEndpoint).toBe('http://127.0.0.1:9');
  });
});
