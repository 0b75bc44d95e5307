/** Entry point: `node apps/coordinator/dist/main.js` (environment: see README.md). */
import { createApp, listen } from './bootstrap';
import { ConfigError, loadConfig } from './config/config.schema';

async function main(): Promise<void> {
  const config = loadConfig();
  const { app, logger } = await createApp(config);
  app.enableShutdownHooks();
  await listen(app, config);
  logger.info(
    {
      url: await app.getUrl(),
      auth: config.authEnabled,
      localMode: config.localMode,
      redis: config.redisUrl,
    },
    'coordinator listening',
  );
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(
    `${err instanceof ConfigError ? 'configuration error' : 'coordinator failed to start'}: ${message}\n`,
  );
  process.exit(1);
});
