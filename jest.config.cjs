const { jestConfig } = require('@salesforce/sfdx-lwc-jest/config');

module.exports = {
  ...jestConfig,
  // Only the components' tests: relay and cross-cutting suites run under node:test.
  testMatch: ['<rootDir>/force-app/**/lwc/**/__tests__/**/*.test.js'],
  setupFilesAfterEnv: [...(jestConfig.setupFilesAfterEnv ?? []), '<rootDir>/jest-sa11y-setup.js'],
  // One copy of the helpers every component test shares (flushPromises, deepQuery, resetDom).
  moduleNameMapper: {
    ...(jestConfig.moduleNameMapper ?? {}),
    '^test-utils$': '<rootDir>/force-app/test/jest-utils/lwcTestUtils.js',
  },
  testTimeout: 10000,
};
