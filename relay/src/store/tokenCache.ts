import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Queryable } from './transaction.ts';

/**
 * The MSAL token cache (it holds the delegated refresh token) persisted in Postgres, encrypted
 * with AES-256-GCM under TOKEN_CACHE_KEY so a database dump alone does not leak the credential.
 */
export interface TokenCacheStore {
  load(): Promise<string | null>;
  save(serialized: string): Promise<void>;
}

export function createTokenCacheStore(db: Queryable, key: Buffer, name = 'partner-center'): TokenCacheStore {
  if (key.length !== 32) throw new Error('The token cache key must be 32 bytes');
  return {
    async load() {
      const { rows } = await db.query<{ iv: Buffer; tag: Buffer; ciphertext: Buffer }>(
        'select iv, tag, ciphertext from cosell.token_cache where name = $1',
        [name],
      );
      const row = rows[0];
      if (!row) return null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, row.iv);
        decipher.setAuthTag(row.tag);
        return Buffer.concat([decipher.update(row.ciphertext), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new Error(
          'The stored token cache cannot be decrypted with TOKEN_CACHE_KEY (was the key changed?)',
          {
            cause: error,
          },
        );
      }
    },
    async save(serialized) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ciphertext = Buffer.concat([cipher.update(serialized, 'utf8'), cipher.final()]);
      await db.query(
        `insert into cosell.token_cache (name, iv, tag, ciphertext) values ($1, $2, $3, $4)
         on conflict (name) do update set iv = excluded.iv, tag = excluded.tag, ciphertext = excluded.ciphertext, updated_at = now()`,
        [name, iv, cipher.getAuthTag(), ciphertext],
      );
    },
  };
}

/** Forgets every cached sign-in (a sandbox run's tokens mean nothing to the next run's simulators). */
export async function clearTokenCaches(db: Queryable): Promise<void> {
  await db.query('delete from cosell.token_cache');
}
