import { fixedId } from './ids.ts';

/** A sandbox org user, with the credentials the sandbox's token endpoint accepts for them. */
export interface SandboxUser {
  id: string;
  username: string;
  name: string;
  email: string;
  /** For the OAuth password grant (the seller signs in this way in tests and the demo). */
  password?: string;
}

/** A connected app: its client credentials flow runs as `runAsUsername`. */
export interface SandboxConnectedApp {
  clientId: string;
  clientSecret: string;
  runAsUsername: string;
}

export const SANDBOX_ORG_ID = fixedId('Organization', 1);

/** The user the relay acts as. The Apex trigger (and the sandbox's trigger rule) skips its writes. */
export const DEFAULT_INTEGRATION_USER: Readonly<SandboxUser> = Object.freeze({
  id: fixedId('User', 1),
  username: 'integration@cosell-sync.sandbox',
  name: 'Cosell Integration',
  email: 'integration@cosell-sync.sandbox',
});

/** A seller who edits Opportunities by hand in tests and the demo. */
export const DEFAULT_SELLER_USER: Readonly<SandboxUser> = Object.freeze({
  id: fixedId('User', 2),
  username: 'seller@cosell-sync.sandbox',
  name: 'Sam Seller',
  email: 'seller@cosell-sync.sandbox',
  password: 'seller-password',
});

/** The relay's connected app (client credentials as the integration user). */
export const DEFAULT_RELAY_APP: Readonly<SandboxConnectedApp> = Object.freeze({
  clientId: 'cosell-relay-sandbox-client',
  clientSecret: 'cosell-relay-sandbox-secret',
  runAsUsername: DEFAULT_INTEGRATION_USER.username,
});

/** A second connected app for tools acting as the seller (client credentials or password grant). */
export const DEFAULT_SELLER_APP: Readonly<SandboxConnectedApp> = Object.freeze({
  clientId: 'cosell-seller-sandbox-client',
  clientSecret: 'cosell-seller-sandbox-secret',
  runAsUsername: DEFAULT_SELLER_USER.username,
});

export interface UserDirectory {
  readonly integrationUser: SandboxUser;
  readonly users: readonly SandboxUser[];
  readonly apps: readonly SandboxConnectedApp[];
  byId(id: string): SandboxUser | undefined;
  byUsername(username: string): SandboxUser | undefined;
  app(clientId: string): SandboxConnectedApp | undefined;
}

export interface UserDirectoryOptions {
  /** Defaults to the integration user and the seller. */
  users?: SandboxUser[];
  /** Username of the integration user; defaults to DEFAULT_INTEGRATION_USER's. */
  integrationUsername?: string;
  apps?: SandboxConnectedApp[];
}

export function createUserDirectory(options: UserDirectoryOptions = {}): UserDirectory {
  const users = options.users ?? [{ ...DEFAULT_INTEGRATION_USER }, { ...DEFAULT_SELLER_USER }];
  const apps = options.apps ?? [{ ...DEFAULT_RELAY_APP }, { ...DEFAULT_SELLER_APP }];
  const integrationUsername = options.integrationUsername ?? DEFAULT_INTEGRATION_USER.username;
  const integrationUser = users.find((u) => u.username === integrationUsername);
  if (!integrationUser)
    throw new Error(`The integration user ${integrationUsername} is not among the sandbox users`);
  for (const app of apps) {
    if (!users.some((u) => u.username === app.runAsUsername))
      throw new Error(`Connected app ${app.clientId} runs as unknown user ${app.runAsUsername}`);
  }
  return {
    integrationUser,
    users,
    apps,
    byId: (id) => users.find((u) => u.id.slice(0, 15) === id.slice(0, 15)),
    byUsername: (username) => users.find((u) => u.username.toLowerCase() === username.toLowerCase()),
    app: (clientId) => apps.find((a) => a.clientId === clientId),
  };
}
