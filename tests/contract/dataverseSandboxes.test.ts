import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandboxes } from '../../relay/sandbox/index.ts';
import type { Sandboxes } from '../../relay/sandbox/index.ts';
import { createDataverseClient } from '../../relay/src/crm/dynamics/dataverseClient.ts';

/**
 * `startSandboxes({ dataverse: … })` adds the Dataverse sandbox behind the same Entra authority as
 * Partner Center: the relay's client registration gets a token for the org's resource and the
 * Partner Center audiences keep working.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');

describe('the Dataverse sandbox among the sandboxes', () => {
  let sandboxes: Sandboxes;

  before(async () => {
    sandboxes = await startSandboxes({
      forceAppDir: path.join(ROOT, 'force-app'),
      https: true,
      dataverse: { keyIndexDelayMs: 50 },
    });
  });
  after(() => sandboxes.close());

  it('serves the relay’s client registration with a token for <org url>/.default over HTTPS', async () => {
    const settings = sandboxes.dataverseSettings!;
    assert.match(settings.orgUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    const client = createDataverseClient({ ...settings, tenantAuthority: settings.authority });
    const who = await client.whoAmI();
    assert.equal(who.OrganizationId, sandboxes.dataverse!.organizationId);
    const id = await client.create('accounts', { name: 'Among the sandboxes' });
    assert.equal(sandboxes.dataverse!.organization.row('account', id)?.data.name, 'Among the sandboxes');
  });

  it('is not started without the option', async () => {
    const plain = await startSandboxes({ forceAppDir: path.join(ROOT, 'force-app') });
    try {
      assert.equal(plain.dataverse, undefined);
      assert.equal(plain.dataverseSettings, undefined);
    } finally {
      await plain.close();
    }
  });
});
