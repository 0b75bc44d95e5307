/** Jest runs the TypeScript sources directly; workspace imports resolve to their src/index.ts. */
const path = require('path');
const root = path.resolve(__dirname, '../..');
module.exports = {
  displayName: path.basename(__dirname),
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  moduleNameMapper: {
    '^@llm-forge/gpt$': `${root}/libs/gpt/src/index.ts`,
    '^@llm-forge/tfjs-backend-native$': `${root}/libs/tfjs-backend-native/src/index.ts`,
    '^@llm-forge/data-shards$': `${root}/libs/data-shards/src/index.ts`,
    '^@llm-forge/proto$': `${root}/libs/proto/src/index.ts`,
    '^@llm-forge/collective$': `${root}/libs/collective/src/index.ts`,
  },
  testTimeout: 120000,
};
