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
});
