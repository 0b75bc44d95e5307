/** Test helpers of @llm-forge/proto: a throw-away PKI for TLS tests (`@llm-forge/proto/testing`). */
export { makeTestPki, tlsEnv } from './lib/test-utils/test-pki';
export type { TestPki, TestPkiFiles } from './lib/test-utils/test-pki';
