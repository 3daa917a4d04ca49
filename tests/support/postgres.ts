import pg from 'pg';

/**
 * Test databases. The global setup (globalSetup.ts) starts one embedded cluster per test run and
 * exports its admin URL in COSELL_TEST_PG_ADMIN_URL; each test takes a fresh database from it,
 * so test files run in parallel without seeing each other's rows.
 */
async function adminUrl(): Promise<string> {
  const shared = process.env.COSELL_TEST_PG_ADMIN_URL;
  if (shared) return shared;
  // A cluster started here would keep this test process alive after its tests end, so a single
  // file must be run with the global setup too.
  throw new Error(
    'No test PostgreSQL cluster: run tests through `npm run test:relay`, or add --test-global-setup=tests/support/globalSetup.ts',
  );
}

let counter = 0;

/** Creates an empty database and returns its connection string. */
export async function createTestDatabase(label = 'test'): Promise<string> {
  const admin = await adminUrl();
  const name = `${label
    .replace(/[^a-z0-9_]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${process.pid}_${Date.now()}_${counter++}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}
