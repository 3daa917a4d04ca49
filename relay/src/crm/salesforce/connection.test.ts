import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSalesforceRestSandbox } from '../../../sandbox/salesforce/rest.ts';
import type { SalesforceRestSandbox } from '../../../sandbox/salesforce/rest.ts';
import { silentLogger } from '../../logger.ts';
import { RelayError } from '../../errors.ts';
import { createSalesforceConnection } from './connection.ts';

describe('createSalesforceConnection', () => {
  let sandbox: SalesforceRestSandbox;

  before(async () => {
    sandbox = await createSalesforceRestSandbox();
  });
  after(async () => {
    await sandbox.close();
  });

  it('authorizes with client credentials and names the integration user', async () => {
    const sf = await createSalesforceConnection({ ...sandbox.relayCredentials, logger: silentLogger() });
    assert.equal(sf.userId, sandbox.integrationUser.id);
    assert.equal(sf.username, sandbox.integrationUser.username);
    assert.equal(sf.connection.version, '62.0');
    assert.equal(sf.connection.instanceUrl, sandbox.url);
  });

  it('re-authorizes when the session expires and replays the call', async () => {
    const sf = await createSalesforceConnection({ ...sandbox.relayCredentials, logger: silentLogger() });
    const tokenCalls = sandbox.counters().byEndpoint['oauth.token'] ?? 0;
    sandbox.expireSessions();
    const result = await sf.connection.query('SELECT Id FROM Account');
    assert.equal(result.done, true);
    assert.equal(sf.refreshes(), 1);
    assert.equal(sandbox.counters().byEndpoint['oauth.token'], tokenCalls + 1);
  });

  it('counts API calls and keeps the last Sforce-Limit-Info usage', async () => {
    const sf = await createSalesforceConnection({ ...sandbox.relayCredentials, logger: silentLogger() });
    const before = sf.apiCalls();
    await sf.connection.query('SELECT Id FROM Opportunity');
    await sf.connection.query('SELECT Id FROM Opportunity');
    assert.equal(sf.apiCalls(), before + 2);
    assert.deepEqual(sf.limitInfo(), sandbox.counters().apiUsage);
  });

  it("knows the org's daily usage from /limits DailyApiRequests before any record call", async () => {
    const limited = await createSalesforceRestSandbox({ apiLimit: 15_000 });
    try {
      // Usage other clients of the org spent, which no response to this relay has reported yet.
      for (let i = 0; i < 3; i += 1) limited.controls.record('query', true);
      const sf = await createSalesforceConnection({ ...limited.relayCredentials, logger: silentLogger() });
      assert.equal(limited.counters().byEndpoint.limits, 1, 'one /limits call at connect');
      assert.deepEqual(sf.limitInfo(), { used: 4, limit: 15_000 }, 'the 3 calls plus /limits itself');
      for (let i = 0; i < 5; i += 1) limited.controls.record('query', true);
      assert.deepEqual(await sf.refreshLimits(), { used: 10, limit: 15_000 });
      assert.deepEqual(sf.limitInfo(), limited.counters().apiUsage);
    } finally {
      await limited.close();
    }
  });

  it('fails with AUTH_FAILED when the client secret is wrong, without leaking the secret', async () => {
    const secret = 'definitely-wrong-secret';
    await assert.rejects(
      createSalesforceConnection({
        ...sandbox.relayCredentials,
        clientSecret: secret,
        logger: silentLogger(),
      }),
      (error: unknown) => {
        assert.ok(error instanceof RelayError);
        assert.equal(error.code, 'AUTH_FAILED');
        assert.ok(!error.message.includes(secret));
        return true;
      },
    );
  });
});
