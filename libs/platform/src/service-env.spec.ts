import { parseServiceEnv } from './service-env';

describe('service environment', () => {
  const valid = { GOOGLE_CLOUD_PROJECT: 'p', SPANNER_INSTANCE: 'i', SPANNER_DATABASE: 'd' };

  it('fills defaults', () => {
    expect(parseServiceEnv(valid, 'planner')).toMatchObject({ PORT: 8080, HOST: '127.0.0.1' });
  });

  it('names every missing or invalid variable', () => {
    expect(() => parseServiceEnv({ GOOGLE_CLOUD_PROJECT: 'p', PORT: 'eighty' }, 'worker')).toThrow(
      /almanac worker: invalid environment: SPANNER_INSTANCE: .*; SPANNER_DATABASE: .*; PORT: /,
    );
  });

  it('reads the log format and level: json or human, info by default', () => {
    expect(parseServiceEnv(valid, 'worker')).toMatchObject({ ALMANAC_LOG_LEVEL: 'info' });
    expect(parseServiceEnv(valid, 'worker').ALMANAC_LOG_FORMAT).toBeUndefined();
    expect(
      parseServiceEnv({ ...valid, ALMANAC_LOG_FORMAT: 'human', ALMANAC_LOG_LEVEL: 'debug' }, 'api'),
    ).toMatchObject({ ALMANAC_LOG_FORMAT: 'human', ALMANAC_LOG_LEVEL: 'debug' });
    expect(() => parseServiceEnv({ ...valid, ALMANAC_LOG_FORMAT: 'xml' }, 'api')).toThrow(
      /almanac api: invalid environment: ALMANAC_LOG_FORMAT: /,
    );
  });
});
