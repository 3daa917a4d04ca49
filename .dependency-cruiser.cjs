/**
 * Module rules for `depcruise --config .dependency-cruiser.cjs relay/src` (run by
 * tests/e2e/moduleGraph.test.ts, so `npm test` fails on a break). docs/ARCHITECTURE.md explains
 * the layers these rules keep apart.
 */
const production = {
  path: '^relay/src/',
  pathNot: ['\\.test\\.ts$', '/testSupport\\.ts$', '/testFixtures\\.ts$'],
};

module.exports = {
  forbidden: [
    {
      name: 'production-loads-no-simulators',
      comment:
        'Production code must not load the simulators or node-forge (their PKI) at start: relay/sandbox is imported only dynamically, in sandbox mode.',
      severity: 'error',
      from: production,
      to: {
        path: ['^relay/sandbox/', 'node_modules/node-forge/'],
        dependencyTypesNot: ['dynamic-import', 'type-only'],
      },
    },
    {
      name: 'no-circular',
      comment: 'Modules form layers: no import circle, even of types.',
      severity: 'error',
      from: production,
      to: { circular: true },
    },
    {
      name: 'core-does-no-io',
      comment:
        'relay/src/sync is the pure sync core (mapping, transforms, stage rules, canonical form, diff, conflict, audit): it imports no store, client, job, HTTP or CRM module, and no library or built-in that does I/O.',
      severity: 'error',
      from: { path: '^relay/src/sync/', pathNot: production.pathNot },
      to: {
        path: [
          '^relay/src/(store|salesforce|crm|partner-center|http|jobs|cli|notifications)/',
          '^relay/src/(relay|app|config|logger|metrics|mappingLoader|sandboxMode)\\.ts$',
          'node_modules/(pg|pg-[a-z-]+|graphile-worker|jsforce|@grpc|@azure|express|undici|pino)/',
        ],
      },
    },
    {
      name: 'core-uses-no-io-builtins',
      comment:
        'The sync core reads no file, socket or process: node:crypto (hashing) is the one built-in it may use.',
      severity: 'error',
      from: { path: '^relay/src/sync/', pathNot: production.pathNot },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?crypto$' },
    },
    {
      name: 'orchestration-uses-the-crm-port',
      comment:
        'Jobs, store, HTTP, the sync core and the operations reach a CRM only through relay/src/crm/crmAdapter.ts. Only the composition root (relay.ts, clouds.ts) and the CLI commands that are about one CRM (doctor) name an adapter.',
      severity: 'error',
      from: {
        path: [
          '^relay/src/(jobs|store|http|sync|notifications|partner-center)/',
          '^relay/src/crm/crmAdapter\\.ts$',
          '^relay/src/(app|dashboardOperations|relayMetrics|relayOperations|operations|intake|workers|server|syncStats|syncRollup|deadLetterKinds)\\.ts$',
        ],
        pathNot: production.pathNot,
      },
      to: { path: '^relay/src/crm/(?!crmAdapter\\.ts$)' },
    },
    {
      name: 'only-store-talks-to-postgres',
      comment:
        'SQL lives in relay/src/store: no other module loads the pg driver (types are fine). graphile-worker is reached through store/queue.ts and the task helpers it hands to jobs.',
      severity: 'error',
      from: { path: '^relay/src/', pathNot: ['^relay/src/store/', ...production.pathNot] },
      to: { path: 'node_modules/(pg|pg-[a-z-]+)/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['\\.test\\.ts$', '/testSupport\\.ts$'] },
    tsPreCompilationDeps: true,
  },
};
