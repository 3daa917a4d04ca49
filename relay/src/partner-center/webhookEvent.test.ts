import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HANDLED_EVENTS, isHandledEvent, parseWebhookEvent } from './webhookEvent.ts';
import { RequestError } from '../errors.ts';

const body = (value: unknown): Buffer =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

const documented = {
  EventName: 'referral-updated',
  ResourceUri:
    'https://api.partnercenter.microsoft.com/engagements/v1/referrals/4111fffc-f9ee-4d53-bba6-569135228642',
  ResourceName: 'referral',
  AuditUri: null,
  ResourceChangeUtcDate: '2018-02-17T00:05:39.5485487+00:00',
};

function rejection(raw: Buffer): RequestError {
  try {
    parseWebhookEvent(raw);
  } catch (error) {
    assert.ok(error instanceof RequestError);
    assert.equal(error.code, 'REQUEST_INVALID');
    assert.equal(error.status, 400);
    return error;
  }
  assert.fail('expected the event to be rejected');
}

describe('parseWebhookEvent', () => {
  it('parses the documented referral-updated payload and takes the referral id from the ResourceUri', () => {
    assert.deepEqual(parseWebhookEvent(body(documented)), {
      eventName: 'referral-updated',
      resourceUri: documented.ResourceUri,
      resourceName: 'referral',
      resourceChangeUtcDate: '2018-02-17T00:05:39.5485487+00:00',
      referralId: '4111fffc-f9ee-4d53-bba6-569135228642',
    });
  });

  it('keeps AuditUri and ignores a trailing slash when reading the referral id', () => {
    const event = parseWebhookEvent(
      body({
        ...documented,
        ResourceUri: 'https://api.partner.microsoft.com/v1.0/engagements/referrals/abc-123/',
        AuditUri: 'https://api.partnercenter.microsoft.com/auditactivity/v1/auditrecords/9',
      }),
    );
    assert.equal(event.referralId, 'abc-123');
    assert.equal(event.auditUri, 'https://api.partnercenter.microsoft.com/auditactivity/v1/auditrecords/9');
  });

  it('accepts an event without ResourceUri (as DAP events are sent) and gives no referral id', () => {
    const event = parseWebhookEvent(
      body({ EventName: 'dap-admin-relationship-approved', ResourceChangeUtcDate: '2024-01-01T00:00:00Z' }),
    );
    assert.equal(event.referralId, undefined);
    assert.equal(event.resourceUri, undefined);
  });

  it('rejects a ResourceUri whose referral id is not validly percent-encoded, naming ResourceUri', () => {
    const body = Buffer.from(
      JSON.stringify({
        EventName: 'referral-updated',
        ResourceUri: 'https://api.partnercenter.microsoft.com/engagements/v1/referrals/%E0%A4%A',
        ResourceName: 'referral',
        ResourceChangeUtcDate: '2026-11-25T08:00:00.0000000+00:00',
      }),
    );
    assert.throws(
      () => parseWebhookEvent(body),
      (error: unknown) =>
        error instanceof RequestError && error.status === 400 && /ResourceUri/.test(error.message),
    );
  });

  it('rejects a body that is not JSON', () => {
    assert.match(rejection(body('{"EventName": ')).message, /not valid JSON/);
  });

  it('rejects an event without EventName, naming the field', () => {
    const { EventName: _omitted, ...rest } = documented;
    assert.match(rejection(body(rest)).message, /EventName is required/);
  });

  it('rejects an empty EventName, naming the field', () => {
    assert.match(rejection(body({ ...documented, EventName: '' })).message, /EventName/);
  });

  it('rejects a missing or unparsable ResourceChangeUtcDate, naming the field', () => {
    const { ResourceChangeUtcDate: _omitted, ...rest } = documented;
    assert.match(rejection(body(rest)).message, /ResourceChangeUtcDate is required/);
    assert.match(
      rejection(body({ ...documented, ResourceChangeUtcDate: 'yesterday' })).message,
      /ResourceChangeUtcDate must be an ISO 8601 date-time/,
    );
  });

  it('rejects a JSON array or a ResourceUri of the wrong type', () => {
    assert.match(rejection(body([documented])).message, /body/);
    assert.match(rejection(body({ ...documented, ResourceUri: 42 })).message, /ResourceUri/);
  });
});

describe('isHandledEvent', () => {
  it('handles exactly the four referral events', () => {
    assert.deepEqual(
      [...HANDLED_EVENTS],
      ['referral-created', 'referral-updated', 'related-referral-created', 'related-referral-updated'],
    );
    for (const name of HANDLED_EVENTS) assert.equal(isHandledEvent(name), true);
    assert.equal(isHandledEvent('test-created'), false);
    assert.equal(isHandledEvent('Referral-Updated'), false);
  });
});
