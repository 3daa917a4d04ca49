import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorKind, groupByKind } from './deadLetterKinds.ts';

test('errors that differ only in ids, quoted values and long numbers are one kind', () => {
  const a = errorKind(
    'GET referral 3f2c9a1e-8b7d-4c6e-9f10-2a3b4c5d6e7f failed with HTTP 503: Service Unavailable',
  );
  const b = errorKind(
    'GET referral 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d failed with HTTP 503: Service Unavailable',
  );
  assert.equal(a, b);
  assert.equal(a, 'GET referral … failed with HTTP 503: Service Unavailable');
  assert.equal(
    errorKind("Opportunity 006000000000042AAA: 'Amount' must be positive\n    at stack"),
    'Opportunity …: … must be positive',
  );
  assert.notEqual(errorKind('HTTP 503: busy'), errorKind('HTTP 429: slow down'));
  assert.equal(errorKind(null), '(no error recorded)');
});

test('dead letters group by kind, largest group first, with their tasks and latest failure', () => {
  const groups = groupByKind([
    {
      task: 'inbound-referral-changed',
      lastError: 'HTTP 503 for ref-000001',
      updatedAt: new Date('2026-01-01T00:00:01Z'),
    },
    {
      task: 'outbound-deal-changed',
      lastError: 'HTTP 503 for ref-000002',
      updatedAt: new Date('2026-01-01T00:00:03Z'),
    },
    {
      task: 'inbound-referral-changed',
      lastError: 'Field X missing',
      updatedAt: new Date('2026-01-01T00:00:02Z'),
    },
  ]);
  assert.deepEqual(
    groups.map((g) => [g.kind, g.count, g.tasks, g.latestAt]),
    [
      [
        'HTTP 503 for …',
        2,
        ['inbound-referral-changed', 'outbound-deal-changed'],
        '2026-01-01T00:00:03.000Z',
      ],
      ['Field X missing', 1, ['inbound-referral-changed'], '2026-01-01T00:00:02.000Z'],
    ],
  );
});
