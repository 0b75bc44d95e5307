/**
 * @llm-forge/collective/testing: the ring test helpers of @llm-forge/collective that other
 * packages' specs use. For tests only: it resolves through Jest's moduleNameMapper and the tsconfig
 * paths, and is not part of the library build (tsconfig.lib.json excludes it with test-utils/).
 */
export {
  HANG_SLACK_MS,
  randomBuffer,
  ringOrderSum,
  sameBytes,
  startRing,
} from './lib/test-utils/ring-harness';
