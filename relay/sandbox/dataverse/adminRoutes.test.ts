import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDataverseSandbox } from './index.ts';
import type { DataverseSandbox } from './index.ts';

/** The Dataverse sandbox's /_sandbox/ routes, as another process drives them over HTTP. */
let sandbox: DataverseSandbox;
const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${sandbox.url}/_sandbox/${path}`, { ...init, headers: { 'content-type': 'application/json' } });

before(async () => {
  sandbox = await createDataverseSandbox({ verifyAccessToken: () => null });
});
after(() => sandbox.close());

describe('the Dataverse sandbox admin routes', () => {
  it('creates, edits, reads and deletes rows as the seller', async () => {
    const created = await admin('rows/opportunity', {
      method: 'POST',
      body: JSON.stringify({ name: 'Admin deal' }),
    });
    assert.equal(created.status, 201);
    const row = (await created.json()) as { opportunityid: string; _createdby_value: string };
    assert.equal(row._createdby_value, sandbox.sellerUserId);
    const edited = await admin(`rows/opportunity/${row.opportunityid}`, {
      method: 'PATCH',
      body: JSON.stringify({ salesstage: 1 }),
    });
    assert.equal(((await edited.json()) as { salesstage: number }).salesstage, 1);
    const listed = (await (await admin('rows/opportunity')).json()) as {
      rows: Array<{ opportunityid: string; '@odata.etag': string }>;
    };
    assert.ok(
      listed.rows.some((r) => r.opportunityid === row.opportunityid && /^W\/"\d+"$/.test(r['@odata.etag'])),
    );
    assert.equal((await admin(`rows/opportunity/${row.opportunityid}`, { method: 'DELETE' })).status, 204);
    assert.equal((await admin(`rows/opportunity/${row.opportunityid}`)).status, 404);
  });

  it('answers a bad write with the Dataverse error, and a bad faults body naming the field', async () => {
    const bad = await admin('rows/opportunity', { method: 'POST', body: JSON.stringify({ nosuch: 1 }) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { code: string } }).error.code, /^0x/);
    const faults = await admin('faults', {
      method: 'POST',
      body: JSON.stringify({ throttle: { count: -1, retryAfterSeconds: 1 } }),
    });
    assert.equal(faults.status, 400);
    assert.match(((await faults.json()) as { error: { message: string } }).error.message, /throttle\.count/);
    assert.equal((await admin('rows/nosuchtable')).status, 404);
  });

  it('sets and clears faults', async () => {
    assert.equal(
      (await admin('faults', { method: 'POST', body: JSON.stringify({ latencyMs: 25 }) })).status,
      204,
    );
    assert.equal(sandbox.faults.latencyMs, 25);
    assert.equal((await admin('faults', { method: 'DELETE' })).status, 204);
    assert.equal(sandbox.faults.latencyMs, 0);
  });

  it('refuses Web API calls without a valid token', async () => {
    const response = await fetch(`${sandbox.webApiUrl}WhoAmI`, {
      headers: { authorization: 'Bearer not-a-token' },
    });
    assert.equal(response.status, 401);
  });
});
