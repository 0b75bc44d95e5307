/**
 * Shared Jest settings: every project runs its TypeScript sources directly, and workspace imports
 * resolve to the libraries' src/index.ts, so tests never need a build.
 */
const fs = require('fs');
const path = require('path');

const root = __dirname;

/**
 * Maps `@llm-forge/<lib>` to `libs/<lib>/src/index.ts` for every library in the workspace, and
 * `@llm-forge/<project>/testing` to `<libs|apps>/<project>/src/testing.ts` where a project has one
 * (its test helpers for other projects' specs; never part of its build).
 */
function workspaceMapper() {
  const mapper = {};
  for (const lib of fs.readdirSync(path.join(root, 'libs'))) {
    mapper[`^@llm-forge/${lib}$`] = path.join(root, 'libs', lib, 'src', 'index.ts');
  }
  for (const dir of ['libs', 'apps']) {
    for (const project of fs.readdirSync(path.join(root, dir))) {
      const testing = path.join(root, dir, project, 'src', 'testing.ts');
      if (fs.existsSync(testing)) mapper[`^@llm-forge/${project}/testing$`] = testing;
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
