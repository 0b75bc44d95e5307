/**
 * @llm-forge/coordinator/testing: what another project's end-to-end spec needs to run a real
 * coordinator in-process (the dashboard's browser test): the e2e harness and the services the test
 * drives directly. For tests only: it resolves through Jest's moduleNameMapper and the tsconfig
 * paths, is not part of the build (tsconfig.lib.json excludes it with test-utils/), and ESLint
 * allows it in apps/dashboard/src/e2e alone (apps import no app otherwise).
 */
export type { CoordinatorApp } from './bootstrap';
export { JobEvents } from './events/job-events.service';
export { RunsRepository } from './runs/runs.repository';
export {
  deletePrefix,
  redisAvailable,
  startApp,
  TEST_TOKEN,
  testConfig,
  testPrefix,
} from './test-utils/harness';
