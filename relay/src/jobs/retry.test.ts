import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayError } from '../errors.ts';
import { withRetries } from './retry.ts';

const policy = { retries: 3, baseDelayMs: 8, maxDelayMs: 40, maxRetryAfterMs: 100 };
const unavailable = () =>
  new RelayError('PC_UNAVAILABLE', 'Partner Center answered 503', { retryable: true });

describe('withRetries', () => {
  it('waits longer before each retry than before the one before it, within the jittered bounds', async () => {
    // The bounds are the policy's: half to all of base × 2^attempt, so no later wait can be shorter.
    for (let run = 0; run < 50; run++) {
      const delays: number[] = [];
      let calls = 0;
      const result = await withRetries(
        async () => {
          calls += 1;
          if (calls <= 3) throw unavailable();
          return 'done';
        },
        policy,
        (_error, _attempt, delayMs) => delays.push(delayMs),
      );
      assert.equal(result, 'done');
      assert.equal(delays.length, 3);
      delays.forEach((delay, attempt) => {
        const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
        assert.ok(delay >= backoff / 2 && delay <= backoff, `retry ${attempt + 1} waited ${delay} ms`);
      });
      for (let i = 1; i < delays.length; i++)
        assert.ok(delays[i] >= delays[i - 1], `the backoff shrank: ${delays.join(', ')}`);
    }
  });

  it('waits what Retry-After says, and leaves a longer wait to the queue', async () => {
    const delays: number[] = [];
    let calls = 0;
    await withRetries(
      async () => {
        calls += 1;
        if (calls === 1)
          throw new RelayError('PC_THROTTLED', 'Partner Center answered 429', {
            retryable: true,
            retryAfterMs: 30,
          });
        return 'done';
      },
      policy,
      (_error, _attempt, delayMs) => delays.push(delayMs),
    );
    assert.deepEqual(delays, [30]);
    const tooLong = new RelayError('PC_THROTTLED', 'Partner Center answered 429', {
      retryable: true,
      retryAfterMs: 1_000,
    });
    await assert.rejects(
      withRetries(() => Promise.reject(tooLong), policy),
      (error) => error === tooLong,
    );
  });

  it('gives up after the policy’s retries and never retries an error marked not retryable', async () => {
    let calls = 0;
    await assert.rejects(
      withRetries(() => {
        calls += 1;
        return Promise.reject(unavailable());
      }, policy),
      /503/,
    );
    assert.equal(calls, policy.retries + 1);
    calls = 0;
    const permanent = new RelayError('PC_VALIDATION', 'Partner Center answered 400', { retryable: false });
    await assert.rejects(
      withRetries(() => {
        calls += 1;
        return Promise.reject(permanent);
      }, policy),
    );
    assert.equal(calls, 1);
  });
});
