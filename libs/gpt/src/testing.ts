/**
 * @llm-forge/gpt/testing: the test helpers of @llm-forge/gpt that other packages' specs use (a tiny
 * model, float comparisons, backend selection, the shared reference data). For tests only: it
 * resolves through Jest's moduleNameMapper and the tsconfig paths, and is not part of the library
 * build (tsconfig.lib.json excludes it with test-utils/).
 */
export { testBackends, useBackend } from './lib/test-utils/backends';
export { closeToBound, maxAbsDiff, maxRelDiff } from './lib/test-utils/compare';
export { describeIfShared, hasShared, SHARED_DIR, sharedPath } from './lib/test-utils/shared-data';
export { randomModel, TEST_CONFIG, TEST_TEXT } from './lib/test-utils/tiny-model';
