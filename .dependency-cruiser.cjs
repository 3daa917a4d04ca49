/**
 * Module rules for `depcruise --config .dependency-cruiser.cjs relay/src` (run by
 * tests/e2e/moduleGraph.test.ts). One rule for now; later rules (the CRM port) go beside it.
 */
module.exports = {
  forbidden: [
    {
      name: 'production-loads-no-simulators',
      comment:
        'Production code must not load the simulators or node-forge (their PKI) at start: relay/sandbox is imported only dynamically, in sandbox mode.',
      severity: 'error',
      from: { path: '^relay/src/', pathNot: ['\\.test\\.ts$', '/testSupport\\.ts$'] },
      to: {
        path: ['^relay/sandbox/', 'node_modules/node-forge/'],
        dependencyTypesNot: ['dynamic-import', 'type-only'],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['\\.test\\.ts$', '/testSupport\\.ts$'] },
    tsPreCompilationDeps: true,
  },
};
