import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { letPostgresUserReachBinaries } from './embeddedPostgres.ts';

const mode = (dir: string) => statSync(dir).mode & 0o777;

describe('as root, the postgres user is let through to the binaries', () => {
  const top = mkdtempSync(path.join(os.tmpdir(), 'cosell-perm-'));
  after(() => rmSync(top, { recursive: true, force: true }));

  // <top>/private (0700, outside the checkout) / checkout (0700) / node_modules/bin (0700)
  const privateDir = path.join(top, 'private');
  const checkout = path.join(privateDir, 'checkout');
  const binDir = path.join(checkout, 'node_modules', 'bin');
  mkdirSync(binDir, { recursive: true });
  for (const dir of [privateDir, checkout, path.join(checkout, 'node_modules'), binDir])
    chmodSync(dir, 0o700);
  chmodSync(top, 0o755);

  it('refuses, naming EMBEDDED_PG_DIR and the folder, when a folder above the checkout is closed, and changes nothing outside', async () => {
    await assert.rejects(letPostgresUserReachBinaries(binDir, checkout), (error: Error) => {
      assert.match(error.message, /^EMBEDDED_PG_DIR: /);
      assert.ok(error.message.includes(`cannot enter ${privateDir} (mode 700)`), error.message);
      assert.match(error.message, /DATABASE_URL/);
      return true;
    });
    assert.equal(mode(privateDir), 0o700, 'the folder above the checkout is left as it was');
  });

  it('adds only the search bit for others, and only to folders inside the checkout', async () => {
    chmodSync(privateDir, 0o711);
    const tmpBefore = mode(os.tmpdir());
    await letPostgresUserReachBinaries(binDir, checkout);
    assert.equal(mode(checkout), 0o701);
    assert.equal(mode(path.join(checkout, 'node_modules')), 0o701);
    assert.equal(mode(binDir), 0o701);
    assert.equal(mode(privateDir), 0o711, 'outside the checkout: untouched');
    assert.equal(mode(os.tmpdir()), tmpBefore);
  });
});
