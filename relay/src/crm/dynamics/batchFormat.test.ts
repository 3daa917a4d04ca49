import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatBatchResponse, parseBatch } from '../../../sandbox/dataverse/multipart.ts';
import { buildBatch, parseBatchResponse } from './batchFormat.ts';
import type { BatchOperation } from './batchFormat.ts';

/**
 * The relay's $batch framing read by the Dataverse sandbox's parser, and the sandbox's responses
 * read by the relay's: two independent implementations of OData §11.7 agreeing on any content.
 */
const ROOT = 'https://org.example/api/data/v9.2/';
let n = 0;
const nextId = () => `id${(n += 1)}`;

const json = fc
  .dictionary(
    fc.string({ minLength: 1, maxLength: 8 }),
    fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
    { maxKeys: 4 },
  )
  .map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>);
const operation: fc.Arbitrary<BatchOperation> = fc.record({
  method: fc.constantFrom('POST' as const, 'PATCH' as const, 'DELETE' as const),
  path: fc.constantFrom(
    'accounts',
    "opportunities(csync_referralidentifier='a''b')",
    'contacts(6f1c2d3e-0000-4000-8000-000000000001)',
  ),
  body: json,
});

describe('the $batch framing of the Dataverse client', () => {
  it('builds batches the sandbox reads back exactly', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            changeset: fc.boolean(),
            operations: fc.array(operation, { minLength: 1, maxLength: 4 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (groups) => {
          const { boundary, body } = buildBatch(groups, ROOT, nextId);
          const items = parseBatch(body, `multipart/mixed; boundary=${boundary}`);
          const expected = groups.flatMap((g) =>
            g.changeset ? [g] : g.operations.map((op) => ({ changeset: false, operations: [op] })),
          );
          assert.equal(items.length, expected.length);
          items.forEach((item, i) => {
            const requests = item.kind === 'changeset' ? item.requests : [item.request];
            assert.equal(item.kind === 'changeset', expected[i].changeset);
            requests.forEach((request, j) => {
              const op = expected[i].operations[j];
              assert.equal(request.method, op.method);
              assert.equal(request.target, `${ROOT}${op.path}`);
              assert.deepEqual(JSON.parse(request.body), op.body);
              if (item.kind === 'changeset') assert.equal(request.contentId, String(j + 1));
            });
          });
        },
      ),
    );
  });

  it('reads any response the sandbox writes, changesets flattened in order', () => {
    const part = fc.record({
      status: fc.constantFrom(200, 201, 204, 400, 404, 412),
      body: fc.option(json, { nil: undefined }),
      contentId: fc.option(fc.integer({ min: 1, max: 99 }).map(String), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            part.map((p) => ({ kind: 'response' as const, p })),
            fc.array(part, { minLength: 1, maxLength: 3 }).map((ps) => ({ kind: 'changeset' as const, ps })),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        (items) => {
          const boundary = 'batchresponse_x';
          const text = formatBatchResponse(
            items.map((item) =>
              item.kind === 'response'
                ? {
                    kind: 'response',
                    response: {
                      status: item.p.status,
                      headers: { 'OData-Version': '4.0' },
                      body: item.p.body && JSON.stringify(item.p.body),
                      contentId: item.p.contentId,
                    },
                  }
                : {
                    kind: 'changeset',
                    responses: item.ps.map((p) => ({
                      status: p.status,
                      headers: {},
                      body: p.body && JSON.stringify(p.body),
                      contentId: p.contentId,
                    })),
                  },
            ),
            boundary,
            nextId,
          );
          const flat = items.flatMap((item) => (item.kind === 'response' ? [item.p] : item.ps));
          const parsed = parseBatchResponse(text, `multipart/mixed; boundary=${boundary}`);
          assert.deepEqual(
            parsed.map((r) => [r.status, r.body, r.contentId]),
            flat.map((p) => [p.status, p.body, p.contentId]),
          );
        },
      ),
    );
  });
});
