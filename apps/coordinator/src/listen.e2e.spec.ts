/**
 * Where the HTTP API listens: issue 14 found a local-mode coordinator on `*:PORT` although the
 * README said loopback only.
 */
import type { Server } from 'http';
import { listen } from './bootstrap';
import { deletePrefix, redisAvailable, startApp, testConfig, testPrefix } from './test-utils/harness';

describe('HTTP listen address (e2e, Redis)', () => {
  it('binds to loopback in local mode', async () => {
    if (!(await redisAvailable())) return;
    const prefix = testPrefix();
    const config = testConfig(prefix, { localMode: true, httpHost: '127.0.0.1' });
    const built = await startApp(config);
    try {
      const address = await listen(built.app, config);
      expect(address.address).toBe('127.0.0.1');
      expect(address.port).toBeGreaterThan(0);
    } finally {
      (built.app.getHttpServer() as Server).closeAllConnections();
      await built.app.close();
      await deletePrefix(prefix);
    }
  });
});
