import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isDatabaseConnectionError } from './database.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isDatabaseConnectionError', () => {
  it('recognises a lost or refused connection', () => {
    for (const error of [
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('connection failure', '08006'),
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated'),
    ])
      assert.equal(isDatabaseConnectionError(error), true, error.message);
  });

  it('does not excuse errors about the statement, or things that are not errors', () => {
    for (const error of [
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('syntax error at or near "selec"', '42601'),
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      'Connection terminated',
      null,
      undefined,
    ])
      assert.equal(isDatabaseConnectionError(error), false, String(error));
  });

  it('never excuses an error whose code is outside the connection classes', () => {
    fc.assert(
      fc.property(
        fc
          .stringMatching(/^[0-79A-Z][0-9A-Z]{4}$/)
          .filter((c) => !c.startsWith('08') && !c.startsWith('57P')),
        fc.string(),
        (code, message) => {
          fc.pre(!/^Connection terminated/.test(message));
          assert.equal(isDatabaseConnectionError(withCode(message, code)), false);
        },
      ),
    );
  });
});
