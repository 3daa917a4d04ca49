import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partnerCenterEndpoint } from './apiCallCounter.ts';

test('a Partner Center endpoint is the method and path with ids blanked and the version kept', () => {
  assert.equal(
    partnerCenterEndpoint(
      'GET',
      'https://api.partner.microsoft.com/v1.0/engagements/referrals/3f2c9a1e-8b7d-4c6e?x=1',
    ),
    'GET /v1.0/engagements/referrals/{id}',
  );
  assert.equal(
    partnerCenterEndpoint('PATCH', 'https://127.0.0.1:4000/v1.0/engagements/referrals/ref-1'),
    'PATCH /v1.0/engagements/referrals/{id}',
  );
  assert.equal(
    partnerCenterEndpoint('GET', 'https://h/webhooks/v1/registration'),
    'GET /webhooks/v1/registration',
  );
});
