import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSalesforceRestSandbox } from '../../sandbox/salesforce/rest.ts';
import type { SalesforceRestSandbox } from '../../sandbox/salesforce/rest.ts';
import { silentLogger } from '../logger.ts';
import { RelayError } from '../errors.ts';
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
