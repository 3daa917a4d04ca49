import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createPartnerCenterSandbox } from './index.ts';
import type { PartnerCenterSandbox, Referral } from './index.ts';
import { APP_REFERRALS_TOKEN, APP_TOKEN, callApi, referralBody, testTokenVerifier } from './testSupport.ts';

const REFERRALS = '/v1.0/engagements/referrals';

describe('Partner Center sandbox referrals API', () => {
  let sandbox: PartnerCenterSandbox;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[3]) =>
    callApi(sandbox.url, method, path, options);
  const create = async (overrides: Record<string, unknown> = {}): Promise<Referral> => {
    const response = await api('POST', REFERRALS, { body: referralBody(overrides) });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return response.body as Referral;
  };

  before(async () => {
    sandbox = await createPartnerCenterSandbox({ verifyAccessToken: testTokenVerifier, defaultPageSize: 2 });
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it('refuses calls without a token, with an unknown token, and app-only tokens', async () => {
    const missing = await api('GET', REFERRALS, { token: null });
    assert.equal(missing.status, 401);
    assert.deepEqual((missing.body as { data: string[] }).data, ['Authorization']);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await api('GET', REFERRALS, { token: 'forged' })).status, 401);
    const wrongAudience = await api('GET', REFERRALS, { token: APP_TOKEN });
    assert.equal(wrongAudience.status, 401);
    assert.match((wrongAudience.body as { description: string }).description, /audience/);
    const appOnly = await api('GET', REFERRALS, { token: APP_REFERRALS_TOKEN });
    assert.equal(appOnly.status, 403);
    assert.match((appOnly.body as { description: string }).description, /delegated/);
  });

  it('creates a partner referral as Active/Accepted with service-assigned fields', async () => {
    const referral = await create();
    assert.equal(referral.status, 'Active');
    assert.equal(referral.substatus, 'Accepted');
    assert.equal(referral.direction, 'Outgoing');
    assert.match(referral.eTag, /^".+"$/);
    assert.match(referral.createdDateTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/);
    assert.equal(referral.updatedDateTime, referral.createdDateTime);
    const links = referral.links as { self: { uri: string } };
    assert.equal(links.self.uri, `${sandbox.url}${REFERRALS}/${referral.id}`);
    const fetched = await api('GET', `${REFERRALS}/${referral.id}`);
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.body, referral);
    assert.equal(fetched.headers.get('etag'), referral.eTag);
  });

  it('keeps the engagementId sent for the second POST of a shared co-sell deal', async () => {
    const mine = await create({ type: 'Shared', target: [{ type: 'SolutionProfile', id: 'SOL-34104-EBB' }] });
    const microsofts = await create({
      type: 'Shared',
      engagementId: mine.engagementId,
      target: [{ type: 'BusinessProfileLocation', id: 'msft' }],
    });
    assert.equal(microsofts.engagementId, mine.engagementId);
    assert.notEqual(microsofts.id, mine.id);
  });

  it('answers 404 for an unknown referral id', async () => {
    const response = await api('GET', `${REFERRALS}/6a1b1b2c-0000-4000-8000-000000000000`);
    assert.equal(response.status, 404);
    assert.equal((response.body as { code: string }).code, 'NotFound');
  });

  it('rejects a create missing a required field, naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ type: undefined }, 'type'],
      [{ customerProfile: undefined }, 'customerProfile'],
      [{ customerProfile: { address: { country: 'US' } } }, 'customerProfile.name'],
      [
        { customerProfile: { name: 'Contoso', address: { country: 'USA' } } },
        'customerProfile.address.country',
      ],
      [
        { customerProfile: { name: 'Contoso', address: { city: 'Redmond' } } },
        'customerProfile.address.country',
      ],
      [{ consent: undefined }, 'consent'],
      [{ details: undefined }, 'details'],
      [{ type: 'Partnership' }, 'type'],
    ];
    for (const [overrides, field] of cases) {
      const body = JSON.parse(JSON.stringify(referralBody(overrides)));
      const response = await api('POST', REFERRALS, { body });
      assert.equal(response.status, 400, `expected 400 for ${field}`);
      const error = response.body as { code: string; description: string; data: string[]; source: string };
      assert.deepEqual(error.data, [field]);
      assert.ok(error.description.startsWith(`${field}:`), error.description);
    }
    assert.equal(sandbox.referrals.list().length, 0);
    const notJson = await api('POST', REFERRALS, { body: '{"type":' });
    assert.equal(notJson.status, 400);
    assert.deepEqual((notJson.body as { data: string[] }).data, ['body']);
  });

  it('pages with an absolute @odata.nextLink carrying $skiptoken until every referral is listed', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await create({ name: `Deal ${i}` })).id);
    const seen: string[] = [];
    let link: string | undefined = `${REFERRALS}?$orderby=createdDateTime asc`;
    let pages = 0;
    while (link) {
      const page = await api('GET', link);
      assert.equal(page.status, 200);
      const body = page.body as { value: Referral[]; '@odata.count': number; '@odata.nextLink'?: string };
      assert.equal(body['@odata.count'], 5);
      seen.push(...body.value.map((r) => r.id));
      link = body['@odata.nextLink'];
      if (link)
        assert.match(link, new RegExp(`^${sandbox.url}/v1\\.0/engagements/referrals\\?\\$skiptoken=`));
      pages++;
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, created);
    const top = await api('GET', `${REFERRALS}?$top=4&$orderby=createdDateTime desc`);
    assert.deepEqual(
      (top.body as { value: Referral[] }).value.map((r) => r.id),
      created.slice(1).reverse(),
    );
  });

  it('filters on updatedDateTime, status, externalReferenceId and engagementId joined with and', async () => {
    const first = await create({ externalReferenceId: '006000000000001AAA' });
    const second = await create({ externalReferenceId: '006000000000002AAA' });
    const third = await create();
    await api('PATCH', `${REFERRALS}/${third.id}`, {
      body: [
        { op: 'replace', path: '/status', value: 'Closed' },
        { op: 'replace', path: '/substatus', value: 'Won' },
      ],
    });
    const ids = async (filter: string): Promise<string[]> => {
      const response = await api('GET', `${REFERRALS}?$top=50&$filter=${encodeURIComponent(filter)}`);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return (response.body as { value: Referral[] }).value.map((r) => r.id);
    };
    assert.deepEqual(await ids(`updatedDateTime gt ${first.updatedDateTime}`), [second.id, third.id]);
    assert.deepEqual(
      await ids(
        `updatedDateTime ge ${first.updatedDateTime} and updatedDateTime lt ${second.updatedDateTime}`,
      ),
      [first.id],
    );
    assert.deepEqual(await ids(`updatedDateTime le ${second.updatedDateTime}`), [first.id, second.id]);
    assert.deepEqual(await ids(`status eq 'Closed'`), [third.id]);
    assert.deepEqual(await ids(`(status eq 'Active') and externalReferenceId eq '006000000000002AAA'`), [
      second.id,
    ]);
    assert.deepEqual(await ids(`engagementId eq '${first.engagementId}'`), [first.id]);
    const recent = await api('GET', `${REFERRALS}?$orderby=updatedDateTime desc&$top=1`);
    assert.deepEqual(
      (recent.body as { value: Referral[] }).value.map((r) => r.id),
      [third.id],
    );
  });

  it('rejects a bad $filter or $orderby with 400 naming the problem', async () => {
    const cases: [string, RegExp][] = [
      [`$filter=${encodeURIComponent("status eq 'New' or status eq 'Active'")}`, /'or' is not supported/],
      [
        `$filter=${encodeURIComponent('updatedDateTime gt yesterday')}`,
        /'yesterday' is not a valid DateTimeOffset/,
      ],
      [`$filter=${encodeURIComponent("colour eq 'red'")}`, /'colour' is not filterable/],
      [`$filter=${encodeURIComponent("status eq 'New")}`, /unterminated string/],
      [`$filter=${encodeURIComponent('status eq New')}`, /must be a quoted string/],
      [`$orderby=${encodeURIComponent('name asc')}`, /\$orderby/],
      ['$top=0', /\$top/],
      ['$count=true', /\$count/],
    ];
    for (const [query, message] of cases) {
      const response = await api('GET', `${REFERRALS}?${query}`);
      assert.equal(response.status, 400, query);
      assert.match((response.body as { description: string }).description, message);
    }
  });

  it('applies replace and add, answering 204 or 200 with Prefer: return=representation', async () => {
    const referral = await create();
    const noBody = await api('PATCH', `${REFERRALS}/${referral.id}`, {
      body: [{ op: 'replace', path: '/details/dealValue', value: '10000' }],
      headers: { 'if-match': referral.eTag },
    });
    assert.equal(noBody.status, 204);
    assert.equal(noBody.body, undefined);
    const afterReplace = sandbox.referrals.get(referral.id)!;
    assert.equal((afterReplace.details as { dealValue: unknown }).dealValue, 10000);
    assert.notEqual(afterReplace.eTag, referral.eTag);
    assert.equal(noBody.headers.get('etag'), afterReplace.eTag);
    assert.ok(afterReplace.updatedDateTime > referral.updatedDateTime);

    const member = {
      email: 'sue@partner.example',
      firstName: 'Sue',
      lastName: 'Smith',
      phoneNumber: '1234567890',
    };
    const withBody = await api('PATCH', `${REFERRALS}/${referral.id}`, {
      body: [
        { op: 'add', path: '/team/-', value: member },
        { op: 'replace', path: '/details/notes', value: 'updated' },
      ],
      headers: { prefer: 'return=representation' },
    });
    assert.equal(withBody.status, 200);
    const updated = withBody.body as Referral;
    assert.deepEqual(updated.team, [member]);
    assert.equal((updated.details as { notes: string }).notes, 'updated');
  });

  it('refuses JSON Patch operations other than replace and add, and read-only paths', async () => {
    const referral = await create();
    for (const op of ['remove', 'move', 'copy', 'test']) {
      const response = await api('PATCH', `${REFERRALS}/${referral.id}`, {
        body: [{ op, path: '/details/notes', from: '/name', value: 'x' }],
      });
      assert.equal(response.status, 400, op);
      assert.deepEqual((response.body as { data: string[] }).data, ['[0].op']);
    }
    const readOnly = await api('PATCH', `${REFERRALS}/${referral.id}`, {
      body: [{ op: 'replace', path: '/eTag', value: '"x"' }],
    });
    assert.equal(readOnly.status, 400);
    const badCountry = await api('PATCH', `${REFERRALS}/${referral.id}`, {
      body: [{ op: 'replace', path: '/customerProfile/address/country', value: 'Narnia' }],
    });
    assert.deepEqual((badCountry.body as { data: string[] }).data, ['customerProfile.address.country']);
    assert.equal(sandbox.referrals.get(referral.id)!.eTag, referral.eTag);
  });

  it('answers 412 to a PATCH whose If-Match eTag is stale', async () => {
    const referral = await create();
    const first = await api('PATCH', `${REFERRALS}/${referral.id}`, {
      body: [{ op: 'replace', path: '/details/notes', value: 'one' }],
      headers: { 'if-match': referral.eTag },
    });
    assert.equal(first.status, 204);
    const stale = await api('PATCH', `${REFERRALS}/${referral.id}`, {
      body: [{ op: 'replace', path: '/details/notes', value: 'two' }],
      headers: { 'if-match': referral.eTag },
    });
    assert.equal(stale.status, 412);
    assert.deepEqual((stale.body as { data: string[] }).data, ['If-Match']);
    assert.equal((sandbox.referrals.get(referral.id)!.details as { notes: string }).notes, 'one');
  });

  it('enforces the status/substatus transition table', async () => {
    const outgoing = await create();
    const patch = (id: string, status: string, substatus: string) =>
      api('PATCH', `${REFERRALS}/${id}`, {
        body: [
          { op: 'replace', path: '/status', value: status },
          { op: 'replace', path: '/substatus', value: substatus },
        ],
      });
    assert.equal((await patch(outgoing.id, 'New', 'Pending')).status, 400, 'Active cannot go back to New');
    assert.equal(
      (await patch(outgoing.id, 'Closed', 'Accepted')).status,
      400,
      'Closed does not admit Accepted',
    );
    assert.equal((await patch(outgoing.id, 'Active', 'Won')).status, 400, 'Active does not admit Won');

    const incoming = sandbox.referrals.createAsMicrosoft(referralBody());
    assert.equal(incoming.status, 'New');
    assert.equal(incoming.direction, 'Incoming');
    assert.equal((await patch(incoming.id, 'New', 'Received')).status, 204);
    assert.equal((await patch(incoming.id, 'Active', 'Accepted')).status, 204);
    assert.equal((await patch(incoming.id, 'Closed', 'Lost')).status, 204);
    assert.ok(sandbox.referrals.get(incoming.id)!.closedDateTime);
  });

  it('refuses any change to a referral in a terminal state', async () => {
    for (const substatus of ['Won', 'Lost', 'Declined', 'Expired']) {
      const referral = await create();
      sandbox.referrals.update(referral.id, { status: 'Closed', substatus });
      const response = await api('PATCH', `${REFERRALS}/${referral.id}`, {
        body: [{ op: 'replace', path: '/details/notes', value: 'too late' }],
      });
      assert.equal(response.status, 400, substatus);
      assert.equal((response.body as { code: string }).code, 'TerminalState');
      assert.throws(() => sandbox.referrals.update(referral.id, { name: 'renamed' }), /terminal state/);
    }
  });

  it('counts API calls per route', async () => {
    const referral = await create();
    await api('GET', `${REFERRALS}/${referral.id}`);
    await api('GET', `${REFERRALS}/${referral.id}`);
    await api('GET', REFERRALS);
    assert.deepEqual(sandbox.counters.apiCalls(), {
      'POST /v1.0/engagements/referrals': 1,
      'GET /v1.0/engagements/referrals/{id}': 2,
      'GET /v1.0/engagements/referrals': 1,
    });
    assert.equal(sandbox.counters.totalApiCalls(), 4);
  });
});
