// Flat ESLint config shared by every project: strict TypeScript rules, no `any` at boundaries, and
// the module boundaries of the workspace (README "Module boundaries"), specs included:
// - @nx/enforce-module-boundaries over the `nx.tags` of every package.json: apps and libs import
//   libs only (no app imports an app, no lib imports an app); `layer:model` libs (gpt, data-shards,
//   tfjs-backend-native) depend on `layer:model` libs only and never, even through another lib, on
//   `layer:wire` (proto); no relative import crosses into another project.
// - no-restricted-imports: a package is imported by its name or a declared entry point, never by a
//   path into its files (src/, dist/, ...); `@llm-forge/<project>/testing` (test helpers, not in any
//   build) only from specs and test-utils.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/** Constraints by tag; a project none of whose tags appears here may depend on no project. */
const depConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:tooling', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  // The model, its data and its kernels run without a network: no gRPC code, not even transitively.
  {
    sourceTag: 'layer:model',
    onlyDependOnLibsWithTags: ['layer:model'],
    notDependOnLibsWithTags: ['layer:wire'],
  },
];

/** The module-boundaries rule with `depConstraints`; `allow` names imports exempt from it. */
function moduleBoundaries(allow = []) {
  return ['error', { depConstraints, allow, enforceBuildableLibDependency: false }];
}

/**
 * Paths into another package: its internals. A package is imported by its name or by a declared
 * entry point one level below it (`@llm-forge/gpt/testing`, `@llm-forge/cluster-protocol/browser`);
 * `src/`, `dist/` and anything deeper are internals.
 */
const DEEP_IMPORTS = {
  group: ['@llm-forge/*/src', '@llm-forge/*/dist', '@llm-forge/*/*/**'],
  message: 'import the package by its name or a declared entry point, not a path into its files',
};
/** A package's test helpers: excluded from its build, so production code cannot use them. */
const TESTING_IMPORTS = {
  group: ['@llm-forge/*/testing'],
  message: 'test helpers (@llm-forge/<project>/testing) are for specs and test-utils only',
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/build/**', '**/node_modules/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': moduleBoundaries(),
      'no-restricted-imports': ['error', { patterns: [DEEP_IMPORTS, TESTING_IMPORTS] }],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.spec.tsx', '**/test-utils/**/*.ts', '**/src/testing.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [DEEP_IMPORTS] }],
    },
  },
  {
    // The dashboard's browser test and the CLI's runs test run a real coordinator in-process, through
    // the coordinator's testing entry: the only places an app's code reaches another app.
    files: [
      'apps/dashboard/src/e2e/**/*.ts',
      'src/e2e/**/*.ts',
      'apps/cli/src/commands/runs.spec.ts',
      'src/commands/runs.spec.ts',
    ],
    rules: { '@nx/enforce-module-boundaries': moduleBoundaries(['@llm-forge/coordinator/testing']) },
  },
  {
    files: ['**/*.spec.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/explicit-module-boundary-types': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
