import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { evaluateFilter, FilterSyntaxError, parseFilter } from './odataFilter.ts';
import { parseBatch } from './multipart.ts';

const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;

describe('the $filter subset', () => {
  it('matches a row by any string value, quotes doubled', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (value, other) => {
        const filter = parseFilter(`name eq ${quote(value)}`);
        assert.equal(evaluateFilter(filter, { name: value }), true);
        assert.equal(evaluateFilter(filter, { name: other }), value.toLowerCase() === other.toLowerCase());
      }),
    );
  });

  it('orders numbers and dates as the comparison operators say', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), (a, b) => {
        assert.equal(evaluateFilter(parseFilter(`n gt ${b}`), { n: a }), a > b);
        assert.equal(evaluateFilter(parseFilter(`n le ${b}`), { n: a }), a <= b);
      }),
    );
    const row = { estimatedclosedate: '2027-02-15' };
    assert.equal(evaluateFilter(parseFilter('estimatedclosedate gt 2027-01-31'), row), true);
    assert.equal(evaluateFilter(parseFilter('estimatedclosedate lt 2027-01-31T00:00:00Z'), row), false);
  });

  it('gives and precedence over or, and honours parentheses and not', () => {
    const row = { a: 1, b: 2, c: 3 };
    assert.equal(evaluateFilter(parseFilter('a eq 9 and b eq 2 or c eq 3'), row), true);
    assert.equal(evaluateFilter(parseFilter('a eq 9 and (b eq 2 or c eq 3)'), row), false);
    assert.equal(evaluateFilter(parseFilter('not (a eq 1)'), row), false);
  });

  it('treats null as absent and GUIDs without case', () => {
    assert.equal(evaluateFilter(parseFilter('description eq null'), {}), true);
    assert.equal(evaluateFilter(parseFilter('description ne null'), { description: 'x' }), true);
    const id = 'A1B2C3D4-0000-4000-8000-00000000000F';
    assert.equal(
      evaluateFilter(parseFilter(`_parentaccountid_value eq ${id}`), {
        _parentaccountid_value: id.toLowerCase(),
      }),
      true,
    );
  });

  it('runs contains, startswith and endswith without case', () => {
    const row = { name: 'Contoso Migration' };
    assert.equal(evaluateFilter(parseFilter("contains(name,'MIGR')"), row), true);
    assert.equal(evaluateFilter(parseFilter("startswith(name,'conto')"), row), true);
    assert.equal(evaluateFilter(parseFilter("endswith(name,'tion')"), row), true);
  });

  it('names what it cannot read', () => {
    assert.throws(() => parseFilter("name eq 'open"), FilterSyntaxError);
    assert.throws(() => parseFilter('name like 1'), /comparison operator after name/);
    assert.throws(() => parseFilter('name eq'), FilterSyntaxError);
  });
});

describe('the $batch framing', () => {
  it('reads changesets and plain parts with CRLF or LF line endings', () => {
    const body = [
      '--batch_1',
      'Content-Type: multipart/mixed; boundary=changeset_1',
      '',
      '--changeset_1',
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      'Content-ID: 1',
      '',
      'POST https://org.example/api/data/v9.2/accounts HTTP/1.1',
      'Content-Type: application/json',
      '',
      '{"name":"A"}',
      '--changeset_1--',
      '--batch_1',
      'Content-Type: application/http',
      '',
      'GET accounts?$select=name HTTP/1.1',
      '',
      '--batch_1--',
      '',
    ];
    for (const eol of ['\r\n', '\n']) {
      const items = parseBatch(body.join(eol), 'multipart/mixed; boundary=batch_1');
      assert.equal(items.length, 2);
      assert.equal(items[0].kind, 'changeset');
      if (items[0].kind === 'changeset') {
        assert.equal(items[0].requests[0].contentId, '1');
        assert.equal(items[0].requests[0].body, '{"name":"A"}');
      }
      assert.equal(items[1].kind === 'request' && items[1].request.target, 'accounts?$select=name');
    }
  });

  it('reads the body of a request that has no headers', () => {
    const body = [
      '--b',
      'Content-Type: application/http',
      '',
      'POST accounts HTTP/1.1',
      '',
      '{"name":"B"}',
      '--b--',
    ].join('\r\n');
    const [item] = parseBatch(body, 'multipart/mixed; boundary=b');
    assert.equal(item.kind === 'request' && item.request.body, '{"name":"B"}');
  });

  it('refuses a body without its closing boundary, and a content type without a boundary', () => {
    assert.throws(() => parseBatch('--b\r\n', 'multipart/mixed; boundary=b'), /closing --b--/);
    assert.throws(() => parseBatch('', 'application/json'), /multipart\/mixed/);
  });
});
