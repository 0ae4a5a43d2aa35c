import { hostService, type ServiceHandle } from './service-host';

describe('service host', () => {
  it('answers /health with the service status and closes the service on shutdown', async () => {
    let closed = 0;
    const handle: ServiceHandle = {
      name: 'worker',
      health: () => ({ inFlight: 2 }),
      close: async () => void closed++,
    };
    const app = await hostService(handle, { port: 0, host: '127.0.0.1' });
    const url = await app.getUrl();
    const res = await fetch(`${url.replace('[::1]', '127.0.0.1')}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ service: 'worker', status: 'ok', inFlight: 2 });
    await app.close();
    expect(closed).toBe(1);
  });
});
