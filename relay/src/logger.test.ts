import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from './logger.ts';

function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('logger', () => {
  it('writes each key once when a child names a key its parent already has', () => {
    const out = capture();
    const logger = createLogger({ format: 'json', destination: out.stream });
    const sandbox = logger.child({ module: 'sandbox' });
    const pubsub = sandbox.child({ module: 'sandbox.pubsub', topic: '/event/Referral_Sync__e' });
    pubsub.child({ jobId: '7' }).info('hello');
    const line = out.text().trim();
    assert.equal(line.match(/"module":/g)?.length, 1, line);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.equal(parsed.module, 'sandbox.pubsub');
    assert.equal(parsed.topic, '/event/Referral_Sync__e');
    assert.equal(parsed.jobId, '7');
    assert.equal(line.match(/"service":/g)?.length, 1, line);
  });

  it('prints for people with LOG_FORMAT=pretty and keeps secrets redacted', () => {
    const out = capture();
    const logger = createLogger({ format: 'pretty', destination: out.stream });
    logger.child({ module: 'entra' }).warn({ clientSecret: 'never-shown' }, 'token refresh slow');
    const text = out.text();
    assert.match(text, /WARN.*token refresh slow/);
    assert.match(text, /module: "entra"/);
    assert.doesNotMatch(text, /never-shown/);
    assert.doesNotMatch(text, /^\{/, 'not a JSON line');
  });
});
