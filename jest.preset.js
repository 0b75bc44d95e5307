/**
 * Shared Jest settings: every project runs its TypeScript sources directly, and workspace imports
 * resolve to the libraries' src/index.ts, so tests never need a build.
 */
const fs = require('fs');
const path = require('path');

const root = __dirname;

/**
 * Maps `@llm-forge/<lib>` to `libs/<lib>/src/index.ts` for every library in the workspace, and
 * `@llm-forge/<lib>/testing` to `libs/<lib>/src/testing.ts` where a library has one (its test
 * helpers for other packages' specs; never shipped in its build).
 */
function workspaceMapper() {
  const mapper = {};
  for (const lib of fs.readdirSync(path.join(root, 'libs'))) {
    const src = path.join(root, 'libs', lib, 'src');
    mapper[`^@llm-forge/${lib}$`] = path.join(src, 'index.ts');
    if (fs.existsSync(path.join(src, 'testing.ts'))) {
      mapper[`^@llm-forge/${lib}/testing$`] = path.join(src, 'testing.ts');
    }
  }
  return mapper;
}

/** The Jest config of the project in `projectDir`. */
module.exports = function jestConfig(projectDir) {
  return {
    displayName: path.basename(projectDir),
    rootDir: projectDir,
    testEnvironment: 'node',
    roots: ['<rootDir>/src'],
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
    moduleNameMapper: workspaceMapper(),
    testTimeout: 120000,
  };
};
