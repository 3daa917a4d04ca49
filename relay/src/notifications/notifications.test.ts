import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startStubServer } from '../../../tests/support/stubServer.ts';
import type { StubReply, StubServer } from '../../../tests/support/stubServer.ts';
import { silentLogger } from '../logger.ts';
import { escapeSlack, messageFor, NOTIFICATION_KINDS } from './messages.ts';
import type { Notification } from './messages.ts';
import { createNotifier, parseNotificationTargets } from './notifier.ts';

const received: Notification = {
  kind: 'referral-received',
  at: '2026-12-02T10:00:00.000Z',
  referralId: 'b1f8c2d4-0000-4000-8000-000000000001',
  dealId: '006Sb0000000001IAA',
  name: 'Contoso <data> & AI',
  referralUrl: 'https://partner.microsoft.com/dashboard/referrals/v2/leads/b1f8c2d4',
  dealUrl: 'javascript:alert(1)',
};

describe('notification messages', () => {
  it('gives Slack a fallback text and blocks with the names escaped and only http(s) links', () => {
    const body = messageFor(received, 'slack') as { text: string; blocks: Array<Record<string, unknown>> };
    assert.match(body.text, /New co-sell referral from Microsoft/);
    assert.ok(body.text.includes('Contoso &lt;data&gt; &amp; AI'));
    const actions = body.blocks.find((b) => b.type === 'actions') as { elements: Array<{ url: string }> };
    assert.deepEqual(
      actions.elements.map((e) => e.url),
      [received.referralUrl],
      'the javascript: link is dropped',
    );
  });

  it('gives Teams one Adaptive Card with the facts and an Open URL action', () => {
    const body = messageFor({ ...received, kind: 'referral-expiring', expiresAt: '2026-12-05' }, 'teams') as {
      type: string;
      attachments: Array<{
        contentType: string;
        content: { body: Array<Record<string, unknown>>; actions: unknown[] };
      }>;
    };
    assert.equal(body.type, 'message');
    assert.equal(body.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
    const card = body.attachments[0].content;
    assert.equal(card.body[0].text, 'Co-sell referral expires soon');
    const facts = (card.body.find((b) => b.type === 'FactSet') as { facts: Array<{ title: string }> }).facts;
    assert.deepEqual(
      facts.map((f) => f.title),
      ['Referral', 'Deal', 'Expires', 'At'],
    );
    assert.equal(card.actions.length, 1);
  });

  it('gives a JSON receiver the notification itself with a title and summary', () => {
    const body = messageFor({ ...received, kind: 'referral-declined', reason: 'Not a fit' }, 'json');
    assert.equal(body.kind, 'referral-declined');
    assert.equal(body.summary, 'Contoso <data> & AI: Microsoft declined the referral (Not a fit).');
  });

  it('never lets a generated name put a raw <, > or unescaped & into Slack mrkdwn', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 80 }),
        fc.constantFrom(...NOTIFICATION_KINDS),
        (name, kind) => {
          const body = messageFor({ ...received, kind, name }, 'slack') as {
            text: string;
            blocks: unknown[];
          };
          const all = JSON.stringify([
            body.text,
            body.blocks.filter((b) => (b as { type: string }).type !== 'header'),
          ]);
          assert.ok(!/[<>]/.test(all.replace(/\\u003[ce]/gi, '')), all);
          assert.equal(
            escapeSlack(name)
              .replace(/&(amp|lt|gt);/g, '')
              .includes('&'),
            false,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('notification settings', () => {
  it('reads receivers and names each by its host when no name is given', () => {
    const [target] = parseNotificationTargets(
      '[{"url":"https://hooks.slack.com/services/T0/B0/secret","format":"slack","events":["sync-error"]}]',
    );
    assert.equal(target.name, 'hooks.slack.com');
    assert.deepEqual([...target.events], ['sync-error']);
    assert.deepEqual(parseNotificationTargets(undefined), []);
  });

  it('names the receiver and field at fault, every one at once, without echoing the URL', () => {
    assert.throws(
      () =>
        parseNotificationTargets(
          '[{"url":"https://hooks.slack.com/services/T0/B0/very-secret","format":"discord","events":["everything"]}]',
        ),
      (error: Error) => {
        assert.match(error.message, /NOTIFICATIONS\[0\.format\]: expected one of slack, teams, json/);
        assert.match(error.message, /NOTIFICATIONS\[0\.events\.0\]: expected kinds among referral-received/);
        assert.ok(!error.message.includes('very-secret'));
        return true;
      },
    );
    assert.throws(() => parseNotificationTargets('{not json'), /NOTIFICATIONS: not valid JSON/);
    assert.throws(
      () => parseNotificationTargets('[{"url":"ftp://x","format":"json","events":["sync-error"]}]'),
      /NOTIFICATIONS\[0\.url\]: expected an http\(s\) URL/,
    );
  });
});

describe('delivering notifications to a local receiver', () => {
  let answer: (path: string) => StubReply = () => ({ status: 200 });
  let server: StubServer;
  let base: string;
  const bodies = () => server.received;

  before(async () => {
    server = await startStubServer((request) => answer(request.url));
    base = server.url;
  });
  after(() => server.close());

  const notifier = () =>
    createNotifier({
      logger: silentLogger(),
      timeoutMs: 300,
      targets: parseNotificationTargets(
        JSON.stringify([
          {
            name: 'sales-slack',
            url: `${base}/slack`,
            format: 'slack',
            events: ['referral-received', 'sync-error'],
          },
          { name: 'sales-teams', url: `${base}/teams`, format: 'teams', events: ['referral-received'] },
          { name: 'ops', url: `${base}/ops`, format: 'json', events: ['sync-error'] },
        ]),
      ),
    });

  it('posts each kind only to the receivers subscribed to it, in their formats', async () => {
    bodies().length = 0;
    answer = () => ({ status: 200 });
    const results = await notifier().send(received);
    assert.deepEqual(
      results.map((r) => [r.target, r.ok]),
      [
        ['sales-slack', true],
        ['sales-teams', true],
      ],
    );
    assert.deepEqual(
      bodies()
        .map((b) => b.url)
        .sort(),
      ['/slack', '/teams'],
    );
    assert.ok(bodies().every((b) => b.headers['content-type'] === 'application/json'));
    assert.ok('blocks' in (bodies().find((b) => b.url === '/slack')!.body as object));
    assert.equal((bodies().find((b) => b.url === '/teams')!.body as { type: string }).type, 'message');
  });

  it('says a 5xx, a 429 (with its Retry-After) and a timeout can be retried, and a 4xx cannot', async () => {
    const outcomes: Record<string, StubReply> = {
      '/slack': { status: 429, headers: { 'retry-after': '7' } },
      '/ops': { status: 503 },
    };
    answer = (path) => outcomes[path] ?? { status: 200 };
    const error: Notification = {
      ...received,
      kind: 'sync-error',
      errorCode: 'SF_RECORD_ERROR',
      reason: 'x',
    };
    const [slack, ops] = await notifier().send(error);
    assert.deepEqual([slack.ok, slack.retryable, slack.retryAfterMs], [false, true, 7000]);
    assert.deepEqual([ops.ok, ops.retryable, ops.status], [false, true, 503]);

    outcomes['/slack'] = { status: 404 };
    outcomes['/ops'] = 'hang';
    const [gone, slow] = await notifier().send(error);
    assert.deepEqual([gone.ok, gone.retryable, gone.error], [false, false, 'HTTP 404']);
    assert.deepEqual([slow.ok, slow.retryable, slow.error], [false, true, 'no answer in 300 ms']);
  });
});
