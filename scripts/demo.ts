/**
 * `npm run demo` — a round trip through the relay `npm start` runs in sandbox mode (start it first,
 * in another terminal).
 *
 * 1. Microsoft shares a referral: POST to the Partner Center sandbox's /_sandbox/referrals admin
 *    API, which stores it and sends the signed webhook exactly as Partner Center would.
 * 2. The relay writes the Opportunity: wait for it in the Salesforce sandbox (admin API, with a
 *    deadline) and print the mapped fields next to the referral fields they came from.
 * 3. A seller edits the Opportunity through the Salesforce REST API (a jsforce session as the
 *    seller): a new Amount, and the stage moved out of on-hold, which accepts the referral (a
 *    New/Pending referral takes no outbound changes until the seller accepts it).
 * 4. The relay updates the referral: wait for the new details.dealValue in Partner Center.
 */
import path from 'node:path';
import { Connection } from 'jsforce';
import { loadConfig } from '../relay/src/config.ts';
import { sandboxPorts } from '../relay/src/sandboxMode.ts';
import { loadMapping } from '../relay/src/mappingLoader.ts';
import { DEFAULT_SELLER_APP, DEFAULT_SELLER_USER } from '../relay/sandbox/salesforce/users.ts';
import { sampleReferral } from '../relay/sandbox/partner-center/sampleReferral.ts';

const DEADLINE_MS = 15_000;

class DemoError extends Error {}

const config = loadConfig();
const ports = sandboxPorts(config);
const partnerCenterUrl = `http://127.0.0.1:${ports.partnerCenter}`;
const salesforceUrl = `http://127.0.0.1:${ports.salesforce}`;
const relayUrl = `http://127.0.0.1:${config.PORT}`;

async function call<T>(url: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      ...init,
      headers: { 'content-type': 'application/json', ...init?.headers },
    });
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED')
      throw new DemoError(
        `Nothing answers at ${new URL(url).origin}: start the relay with npm start first (in another terminal).`,
      );
    throw error;
  }
  const text = await response.text();
  if (!response.ok)
    throw new DemoError(
      `${init?.method ?? 'GET'} ${url} answered HTTP ${response.status}: ${text.slice(0, 500)}`,
    );
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Polls `check` until it returns a value or the deadline passes. */
async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return { value, ms: Date.now() - started };
    if (Date.now() - started > DEADLINE_MS)
      throw new DemoError(
        `Gave up after ${DEADLINE_MS / 1000} s waiting for ${what}. Is the relay healthy? See ${relayUrl}/readyz and the dashboard at ${relayUrl}/`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const show = (value: unknown): string =>
  value === null || value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value);

type Referral = Record<string, unknown> & {
  id: string;
  status: string;
  substatus: string;
  details?: { dealValue?: number };
};
type Opportunity = Record<string, unknown> & { Id: string };

async function main(): Promise<void> {
  // Both the relay and the sandboxes must be up: the relay's liveness, then the sandbox admin API.
  await call(`${relayUrl}/healthz`);
  await call(`${partnerCenterUrl}/_sandbox/faults`);
  const mapping = await loadMapping(
    path.resolve(config.rootDir, config.MAPPING_FILE),
    path.resolve(config.rootDir, config.FORCE_APP_DIR),
  );

  const stamp = new Date().toISOString().slice(11, 19);
  const referral = await call<Referral>(`${partnerCenterUrl}/_sandbox/referrals`, {
    method: 'POST',
    body: JSON.stringify(sampleReferral({ name: `Contoso AI pilot (demo ${stamp})` })),
  });
  console.log(
    `\n1. Microsoft shared referral ${referral.id} (${referral.status}/${referral.substatus}) in the Partner Center sandbox.`,
  );

  const { value: opportunity, ms: inboundMs } = await waitFor(
    'the relay to write the Opportunity',
    async () => {
      const { records } = await call<{ records: Opportunity[] }>(
        `${salesforceUrl}/_sandbox/records/Opportunity?Referral_Identifier__c=${encodeURIComponent(referral.id)}`,
      );
      return records[0];
    },
  );
  console.log(`\n2. The relay wrote Opportunity ${opportunity.Id} (seen after ${inboundMs} ms):\n`);
  // Field, where it came from, value: long values (the referral link) go last so columns stay narrow.
  const rows = mapping.fields
    .filter((f) => f.direction !== 'outbound')
    .map((f) => [f.opportunity, `← ${f.referral}`, show(opportunity[f.opportunity])]);
  rows.push(
    ['Referral_Sync_Status__c', '', show(opportunity.Referral_Sync_Status__c)],
    ['Sync_with_Partner_Center__c', '', show(opportunity.Sync_with_Partner_Center__c)],
  );
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(`   ${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`);

  const seller = new Connection({
    oauth2: {
      loginUrl: salesforceUrl,
      clientId: DEFAULT_SELLER_APP.clientId,
      clientSecret: DEFAULT_SELLER_APP.clientSecret,
    },
    version: config.SF_API_VERSION,
  });
  await seller.login(DEFAULT_SELLER_USER.username, DEFAULT_SELLER_USER.password as string);
  const amount = Number(opportunity.Amount ?? 0) + 25_000;
  const stage = mapping.stages.active;
  const result = await seller
    .sobject('Opportunity')
    .update({ Id: opportunity.Id, Amount: amount, StageName: stage });
  if (!result.success) throw new DemoError(`The seller's edit failed: ${JSON.stringify(result.errors)}`);
  console.log(
    `\n3. ${DEFAULT_SELLER_USER.name} (the seller) set Amount to ${amount} and StageName to '${stage}' (accepting the referral) through the Salesforce REST API.`,
  );

  const { value: updated, ms: outboundMs } = await waitFor('the relay to update the referral', async () => {
    const current = await call<Referral>(
      `${partnerCenterUrl}/_sandbox/referrals/${encodeURIComponent(referral.id)}`,
    );
    return current.details?.dealValue === amount ? current : undefined;
  });
  console.log(
    `\n4. The relay updated referral ${updated.id} in Partner Center (seen after ${outboundMs} ms):\n`,
  );
  console.log(
    `   details.dealValue  ${show(referral.details?.dealValue)} → ${show(updated.details?.dealValue)}`,
  );
  console.log(
    `   status/substatus   ${referral.status}/${referral.substatus} → ${updated.status}/${updated.substatus}`,
  );
  console.log(`\nDashboard: ${relayUrl}/\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof DemoError ? `demo: ${error.message}` : error);
  process.exitCode = 1;
});
