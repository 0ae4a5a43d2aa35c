import type { INestApplication } from '@nestjs/common';
import { hostService, type ServiceHandle } from './service-host';

async function host(handle: ServiceHandle) {
  const app = await hostService(handle, { port: 0, host: '127.0.0.1' });
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const get = async (path: string) => {
    const res = await fetch(`${url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { app, get };
}

const handleOf = (over: Partial<ServiceHandle> = {}): ServiceHandle => ({
  name: 'worker',
  health: () => ({ inFlight: 2 }),
  close: async () => undefined,
  ...over,
});

describe('service host', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('answers /health with the service status and closes the service on shutdown', async () => {
    let closed = 0;
    const served = await host(handleOf({ close: async () => void closed++ }));
    expect(await served.get('/health')).toEqual({
      status: 200,
      body: { service: 'worker', status: 'ok', inFlight: 2 },
    });
    await served.app.close();
    expect(closed).toBe(1);
  });

  it('given a check that fails, when GET /health/live, then 200: liveness is the process serving', async () => {
    const served = await host(
      handleOf({ readiness: { spanner: () => Promise.reject(new Error('gone')) } }),
    );
    app = served.app;
    const live = await served.get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'ok', info: { process: { status: 'up' } } });
  });

  it('given every check passes, when GET /health/ready, then 200 listing each check up', async () => {
    const served = await host(
      handleOf({ readiness: { spanner: async () => undefined, pubsub: async () => undefined } }),
    );
    app = served.app;
    const ready = await served.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ok',
      info: { shutdown: { status: 'up' }, spanner: { status: 'up' }, pubsub: { status: 'up' } },
    });
  });

  it('given one check fails, when GET /health/ready, then 503 naming that check and its error', async () => {
    const served = await host(
      handleOf({
        readiness: {
          spanner: () => Promise.reject(new Error('SELECT 1 on Spanner: no answer within 5 ms')),
          pubsub: async () => undefined,
        },
      }),
    );
    app = served.app;
    const ready = await served.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      status: 'error',
      error: {
        spanner: { status: 'down', message: 'SELECT 1 on Spanner: no answer within 5 ms' },
      },
      info: { pubsub: { status: 'up' } },
    });
    expect(Object.keys(ready.body.error as object)).toEqual(['spanner']);
  });

  it('given shutdown began, while the service drains, then /health/ready is 503 draining, /health/live 200, and close() waits for the drain', async () => {
    const closed: string[] = [];
    let closing!: () => void;
    const closeBegan = new Promise<void>((resolve) => (closing = resolve));
    let finish!: () => void;
    const inFlightDone = new Promise<void>((resolve) => (finish = resolve));
    const served = await host(
      handleOf({
        readiness: { spanner: async () => undefined },
        drain: async () => {
          closing();
          await inFlightDone; // the in-flight work the service waits for
        },
        close: async () => void closed.push('closed'),
      }),
    );
    expect((await served.get('/health/ready')).status).toBe(200);

    const stopped = served.app.close();
    await closeBegan;
    try {
      const ready = await served.get('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        status: 'error',
        error: { shutdown: { status: 'down', message: 'draining' } },
        info: { spanner: { status: 'up' } },
      });
      expect((await served.get('/health/live')).status).toBe(200);
      expect(closed).toEqual([]);
    } finally {
      finish(); // a failed expectation must not leave the shutdown waiting for ever
      await stopped;
    }
    expect(closed).toEqual(['closed']);
  });
});
