import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, sampleReferral } from '../support/relayHarness.ts';
import { spawnRelay, startProductionFixture } from '../support/relayProcess.ts';
import type { ProductionFixture, RelayProcess } from '../support/relayProcess.ts';
import { signInSeller } from '../support/seller.ts';
import type { Seller } from '../support/seller.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * The production path end to end: the Procfile's release and web commands, COSELL_MODE=production,
 * and every endpoint the relay calls (Entra, Partner Center referrals and webhook registration,
 * the certificate host, Salesforce REST and Pub/Sub) served over TLS by the sandboxes, trusted
 * only through NODE_EXTRA_CA_CERTS — the way a host trusts a corporate CA. Nothing inside the
 * relay knows these are sandboxes.
 */

const procfile = Object.fromEntries(
  readFileSync(path.join(ROOT, 'Procfile'), 'utf8')
    .split('\n')
    .filter((line) => line.includes(':'))
    .map((line) => {
      const at = line.indexOf(':');
      return [
        line.slice(0, at).trim(),
        line
          .slice(at + 1)
          .trim()
          .split(/\s+/),
      ];
    }),
) as Record<string, string[]>;

/** The Procfile's commands run with the checkout's node_modules/.bin first, as Heroku's npm does. */
function procfileEnv(env: Record<string, string>): Record<string, string> {
  return {
    ...env,
    PATH: `${path.join(ROOT, 'node_modules/.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
  };
}

describe('production mode over TLS, started as the Procfile starts it', () => {
  let fixture: ProductionFixture;
  let relay: RelayProcess | undefined;
  let seller: Seller;

  before(async () => {
    fixture = await startProductionFixture('tls', { https: true });
    seller = await signInSeller(fixture.sandboxes);
  });
  after(async () => {
    relay?.kill('SIGKILL');
    await relay?.exited;
    await fixture?.dispose();
  });

  it('points every endpoint setting at an https:// URL or a TLS gRPC endpoint', () => {
    const { env } = fixture;
    for (const key of [
      'PC_REFERRALS_BASE_URL',
      'PC_WEBHOOK_API_BASE_URL',
      'ENTRA_AUTHORITY_HOST',
      'SF_LOGIN_URL',
    ])
      assert.match(env[key], /^https:\/\//, key);
    assert.equal(env.SF_PUBSUB_TLS, 'true');
    assert.equal(env.COSELL_MODE, 'production');
    assert.ok(env.NODE_EXTRA_CA_CERTS, 'the sandbox CA is trusted the way a corporate CA would be');
  });

  it('runs the release phase (migrations) and exits 0', async () => {
    const [command, ...args] = procfile.release;
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { HOME: process.env.HOME ?? '', ...procfileEnv(fixture.env) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, output);
  });

  it('syncs a Microsoft referral into a new Opportunity (inbound) and a seller edit of it back (outbound)', async () => {
    relay = spawnRelay(procfileEnv(fixture.env), procfile.web);
    await relay.ready(60_000);
    const { sandboxes } = fixture;

    const referral = sandboxes.partnerCenter.referrals.createAsMicrosoft(
      sampleReferral({ name: 'Contoso over TLS', status: 'Active', substatus: 'Accepted' }),
    );
    const referralId = referral.id as string;
    const synced = await waitFor(
      () => {
        const opportunity = fixture.opportunityOf(referralId);
        return opportunity?.Referral_Sync_Status__c === 'Synced' ? opportunity : undefined;
      },
      { timeoutMs: 30_000, message: 'the referral to become a synced Opportunity' },
    );
    assert.equal(synced.Name, 'Contoso over TLS');

    // Microsoft changes the referral: inbound update.
    sandboxes.partnerCenter.referrals.update(referralId, { name: 'Contoso over TLS, renamed' });
    await waitFor(() => fixture.opportunityOf(referralId)?.Name === 'Contoso over TLS, renamed', {
      timeoutMs: 30_000,
      message: 'the renamed referral to reach the Opportunity',
    });

    // A seller edits the paired Opportunity: outbound update, through the Pub/Sub stream.
    await seller.update(synced.Id as string, { Amount: 424242 });
    await waitFor(
      () =>
        (sandboxes.partnerCenter.referrals.get(referralId)?.details as Record<string, unknown> | undefined)
          ?.dealValue === 424242,
      { timeoutMs: 30_000, message: 'the seller’s Amount to reach the referral' },
    );
  });

  it('creates a referral for an Opportunity a seller starts syncing (outbound create)', async () => {
    const { sandboxes } = fixture;
    const opportunityId = await seller.createOpportunity({ Name: 'Fabrikam over TLS' });
    await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });
    const record = await waitFor(
      () => {
        const row = sandboxes.salesforce.store.get('Opportunity', opportunityId);
        return row?.Referral_Sync_Status__c === 'Synced' ? row : undefined;
      },
      { timeoutMs: 30_000, message: 'the Opportunity to be paired with a new referral' },
    );
    const created = sandboxes.partnerCenter.referrals.get(record.Referral_Identifier__c as string);
    assert.equal(created?.name, 'Fabrikam over TLS');
  });

  it('stops on SIGTERM to its process group, cleanly, and logs no WARN or ERROR', async () => {
    assert.ok(relay, 'the relay from the previous tests is running');
    relay.kill('SIGTERM');
    const { code, signal } = await relay.exited;
    // npm itself ends by the signal it forwarded; the relay under it ends its own way and says so.
    assert.ok(code === 0 || signal === 'SIGTERM', `${code ?? signal}\n${relay.output()}`);
    assert.match(relay.output(), /"msg":"stopped"/);
    assert.ok(!/"level":(40|50|60)/.test(relay.output()), relay.output());
    relay = undefined;
  });
});
