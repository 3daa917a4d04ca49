import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAuditLine, mergeAuditTrails, parseAuditLines, prependAudit } from './audit.ts';

const at = new Date('2026-11-25T08:49:43.512Z');

describe('audit trail', () => {
  it('formats one line with a second-precision UTC timestamp', () => {
    assert.equal(
      formatAuditLine({
        at,
        level: 'ERROR',
        direction: 'outbound',
        message: 'PATCH failed:\n  412 | stale eTag\r\n',
      }),
      '2026-11-25T08:49:43Z | ERROR | outbound | PATCH failed: 412 - stale eTag',
    );
  });

  it('puts the newest line first', () => {
    const first = formatAuditLine({ at, level: 'INFO', direction: 'inbound', message: 'created' });
    const second = formatAuditLine({ at, level: 'INFO', direction: 'outbound', message: 'updated' });
    assert.equal(prependAudit(prependAudit(null, first), second), `${second}\n${first}`);
  });

  it('drops the oldest whole lines so the trail fits the field', () => {
    const lines = ['cccccccccc', 'bbbbbbbbbb', 'aaaaaaaaaa'];
    const existing = lines.join('\n'); // 32 characters
    const trail = prependAudit(existing, 'dddddddddd', 40);
    assert.equal(trail, 'dddddddddd\ncccccccccc\nbbbbbbbbbb');
    assert.ok(trail.length <= 40);
    assert.equal(prependAudit(existing, 'dddddddddd', 43), 'dddddddddd\ncccccccccc\nbbbbbbbbbb\naaaaaaaaaa');
    assert.equal(prependAudit(existing, 'dddddddddd', 42), 'dddddddddd\ncccccccccc\nbbbbbbbbbb');
  });

  it('cuts a single line longer than the field', () => {
    assert.equal(prependAudit('old', 'x'.repeat(50), 20), 'x'.repeat(20));
  });

  it('parses what it formats and keeps foreign lines as plain messages', () => {
    const line = formatAuditLine({ at, level: 'ERROR', direction: 'inbound', message: 'a|b' });
    assert.deepEqual(parseAuditLines(`${line}\n\nwritten by hand\n`), [
      { at: '2026-11-25T08:49:43Z', level: 'ERROR', direction: 'inbound', message: 'a|b' },
      { at: null, level: null, direction: null, message: 'written by hand' },
    ]);
    assert.deepEqual(parseAuditLines(null), []);
  });
});

it('merging two trails written for one record at once keeps both new lines, newest first', () => {
  const old = '2026-11-25T08:00:00Z | INFO | inbound | created';
  const fromOutbound = `2026-11-25T09:00:01Z | INFO | outbound | Sent to Partner Center: /details/dealValue\n${old}`;
  const fromInbound = `2026-11-25T09:00:02Z | INFO | inbound | Updated from Partner Center: Description\n${old}`;
  assert.equal(
    mergeAuditTrails(fromInbound, fromOutbound),
    [
      '2026-11-25T09:00:02Z | INFO | inbound | Updated from Partner Center: Description',
      '2026-11-25T09:00:01Z | INFO | outbound | Sent to Partner Center: /details/dealValue',
      old,
    ].join('\n'),
  );
  assert.equal(mergeAuditTrails(fromInbound, fromOutbound, 90).split('\n').length, 1);
});
