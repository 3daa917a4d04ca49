import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import lwc from '@lwc/eslint-plugin-lwc';
import babelParser from '@babel/eslint-parser';

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'coverage/**', '.sfdx/**', '.sf/**'] },
  // relay, sandboxes, scripts and cross-cutting tests: TypeScript on Node 24
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  // CLI, scripts, benchmarks and the fault suite print for people
  {
    files: ['scripts/**/*.ts', 'relay/src/cli/**/*.ts', 'tests/bench/**/*.ts', 'tests/chaos/main.ts'],
    rules: { 'no-console': 'off' },
  },
  // Lightning Web Components
  {
    files: ['force-app/**/lwc/**/*.js'],
    extends: [js.configs.recommended],
    plugins: { '@lwc/lwc': lwc },
    languageOptions: {
      globals: { ...globals.browser },
      // LWC uses decorators (@api, @wire), which only Babel's parser reads.
      parser: babelParser,
      parserOptions: {
        requireConfigFile: false,
        babelOptions: {
          parserOpts: { plugins: ['classProperties', ['decorators', { decoratorsBeforeExport: false }]] },
        },
      },
    },
    rules: {
      '@lwc/lwc/no-api-reassignments': 'error',
      '@lwc/lwc/no-async-operation': 'error',
      '@lwc/lwc/no-inner-html': 'error',
      '@lwc/lwc/no-document-query': 'error',
    },
  },
  // Jest tests and mocks for the components
  {
    files: [
      'force-app/**/__tests__/**/*.js',
      'force-app/test/**/*.js',
      'jest.config.cjs',
      'jest-sa11y-setup.js',
    ],
    languageOptions: { globals: { ...globals.node, ...globals.jest, ...globals.browser } },
    rules: { '@lwc/lwc/no-async-operation': 'off' },
  },
);
