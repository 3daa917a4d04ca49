import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { requireAllowedHost } from './hostCheck.ts';

function app() {
  const app = express();
  app.use(requireAllowedHost(['localhost', '127.0.0.1', '[::1]', 'relay.example.com']));
  app.get(['/', '/api/status', '/healthz', '/readyz', '/metrics'], (_req, res) => res.json({ ok: true }));
  app.post('/webhooks/partner-center', (_req, res) => res.json({ ok: true }));
  return app;
}

describe('Host check on the dashboard and admin API (DNS rebinding)', () => {
  it('answers loopback names and the public host, with or without a port', async () => {
    for (const host of [
      'localhost:3000',
      '127.0.0.1',
      '[::1]:3000',
      'relay.example.com',
      'RELAY.example.com:443',
    ])
      await request(app()).get('/api/status').set('Host', host).expect(200);
  });

  it('refuses another name pointed at the relay, even with X-Forwarded-Host set to an allowed one', async () => {
    const refused = await request(app())
      .get('/api/status')
      .set('Host', 'attacker.example:3000')
      .set('X-Forwarded-Host', 'localhost');
    assert.equal(refused.status, 421);
    assert.equal(refused.body.error.code, 'HOST_NOT_ALLOWED');
    await request(app()).get('/').set('Host', 'attacker.example').expect(421);
  });

  it("leaves Partner Center's deliveries and the probes alone", async () => {
    for (const path of ['/healthz', '/readyz', '/metrics'])
      await request(app()).get(path).set('Host', 'internal-probe:10000').expect(200);
    await request(app()).post('/webhooks/partner-center').set('Host', 'elsewhere').expect(200);
  });
});
