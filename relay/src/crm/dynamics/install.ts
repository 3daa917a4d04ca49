import type { DataverseClient, DataverseRow } from './dataverseClient.ts';
import { DataverseError } from './dataverseClient.ts';
import { attributeMetadata } from './schema.ts';
import type { DynamicsSchema } from './schema.ts';

/**
 * `relay dynamics install` / `uninstall` against one organization, through the metadata Web API
 * (contract §1 and §3). Idempotent: every step reads first and writes only what is missing or
 * different, so a second run changes nothing. Order matters: the columns exist before the key, the
 * key index is Active before the relay addresses rows by it, the endpoint before its steps.
 */

export interface InstallOptions {
  client: DataverseClient;
  schema: DynamicsSchema;
  solution?: { uniqueName: string; friendlyName: string };
  publisher?: { uniqueName: string; friendlyName: string };
  /** The relay's `POST /webhooks/dynamics` URL (ports 80 / 443 only on the real service). */
  webhookUrl: string;
  webhookSecret: string;
  /** The header Dataverse sends the secret in (authtype 5, HttpHeader). */
  secretHeader?: string;
  endpointName?: string;
  /** The endpoint's secret cannot be read back; set to write it even when the endpoint exists. */
  rotateSecret?: boolean;
  /** How long to wait for the alternate-key index to be Active (default 10 minutes). */
  keyTimeoutMs?: number;
  keyPollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface InstallReport {
  /** What this run created or changed, e.g. `column csync_syncstatus`, `step Update`. */
  changed: string[];
  endpointId: string;
  stepIds: Record<'Create' | 'Update' | 'Delete', string>;
}

const ENTITY = "EntityDefinitions(LogicalName='opportunity')";
const MESSAGES = ['Create', 'Update', 'Delete'] as const;
const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;

function defaults(options: InstallOptions) {
  return {
    solution: options.solution ?? { uniqueName: 'cosellsync', friendlyName: 'cosell-sync' },
    publisher: options.publisher ?? { uniqueName: 'cosellsync', friendlyName: 'cosell-sync' },
    endpointName: options.endpointName ?? 'cosell-sync relay',
    secretHeader: options.secretHeader ?? 'x-csync-secret',
  };
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/"/g, '&quot;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/'/g, '&apos;');
}

async function findOne(
  client: DataverseClient,
  entitySet: string,
  filter: string,
): Promise<DataverseRow | undefined> {
  const rows = await client.queryAll(entitySet, `$filter=${encodeURIComponent(filter)}`);
  return rows[0];
}

async function exists(client: DataverseClient, path: string): Promise<DataverseRow | undefined> {
  const response = await client.request<DataverseRow>('GET', path, { accept: [404] });
  return response.status === 404 ? undefined : response.body;
}

export async function install(options: InstallOptions): Promise<InstallReport> {
  const { client, schema } = options;
  const { solution, publisher, endpointName, secretHeader } = defaults(options);
  const changed: string[] = [];
  const inSolution = { 'MSCRM.SolutionUniqueName': solution.uniqueName };
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;

  const existingPublisher = await findOne(
    client,
    'publishers',
    `uniquename eq ${quote(publisher.uniqueName)}`,
  );
  let publisherId: string;
  if (existingPublisher) {
    if (String(existingPublisher.customizationprefix).toLowerCase() !== schema.prefix)
      throw new Error(
        `The publisher ${publisher.uniqueName} has the prefix ${String(existingPublisher.customizationprefix)}, not ${schema.prefix}: choose another publisher or prefix`,
      );
    publisherId = String(existingPublisher.publisherid);
  } else {
    publisherId = await client.create('publishers', {
      uniquename: publisher.uniqueName,
      friendlyname: publisher.friendlyName,
      customizationprefix: schema.prefix,
      customizationoptionvalueprefix: schema.optionValuePrefix,
    });
    changed.push(`publisher ${publisher.uniqueName}`);
  }
  if (!(await findOne(client, 'solutions', `uniquename eq ${quote(solution.uniqueName)}`))) {
    await client.create('solutions', {
      uniquename: solution.uniqueName,
      friendlyname: solution.friendlyName,
      version: '1.0.0.0',
      'publisherid@odata.bind': `/publishers(${publisherId})`,
    });
    changed.push(`solution ${solution.uniqueName}`);
  }

  for (const column of schema.columns) {
    if (
      await exists(
        client,
        `${ENTITY}/Attributes(LogicalName=${quote(column.logicalName)})?$select=LogicalName`,
      )
    )
      continue;
    await client.request('POST', `${ENTITY}/Attributes`, {
      body: attributeMetadata(column),
      headers: inSolution,
    });
    changed.push(`column ${column.logicalName}`);
  }

  const keyPath = `${ENTITY}/Keys(LogicalName=${quote(schema.key.logicalName)})`;
  if (!(await exists(client, `${keyPath}?$select=LogicalName`))) {
    await client.request('POST', `${ENTITY}/Keys`, {
      body: {
        SchemaName: schema.key.schemaName,
        DisplayName: { LocalizedLabels: [{ Label: 'Referral Identifier', LanguageCode: 1033 }] },
        KeyAttributes: schema.key.attributes,
      },
      headers: inSolution,
    });
    changed.push(`key ${schema.key.logicalName}`);
  }
  // The index is built asynchronously (Pending → InProgress → Active); key addressing fails before.
  const deadline = now() + (options.keyTimeoutMs ?? 600_000);
  for (;;) {
    const key = await exists(client, `${keyPath}?$select=EntityKeyIndexStatus`);
    const status = key?.EntityKeyIndexStatus;
    if (status === 'Active') break;
    if (status === 'Failed')
      throw new Error(
        `The alternate key ${schema.key.logicalName} failed to build (duplicate Referral Identifier values?): fix the rows and call ReactivateEntityKey`,
      );
    if (now() > deadline)
      throw new Error(
        `The alternate key ${schema.key.logicalName} is still ${String(status)} after the wait`,
      );
    await sleep(options.keyPollMs ?? 2000);
  }

  const entity = await client.request<DataverseRow>('GET', ENTITY);
  if (entity.body.ChangeTrackingEnabled !== true) {
    await client.request('PUT', ENTITY, {
      body: { ...entity.body, ChangeTrackingEnabled: true },
      headers: inSolution,
    });
    changed.push('change tracking on opportunity');
  }

  const authvalue = `<settings><setting name="${escapeXml(secretHeader)}" value="${escapeXml(options.webhookSecret)}" /></settings>`;
  const endpoint = await findOne(client, 'serviceendpoints', `name eq ${quote(endpointName)}`);
  let endpointId: string;
  if (!endpoint) {
    endpointId = await client.create(
      'serviceendpoints',
      { name: endpointName, contract: 8, messageformat: 2, url: options.webhookUrl, authtype: 5, authvalue },
      inSolution,
    );
    changed.push(`endpoint ${endpointName}`);
  } else {
    endpointId = String(endpoint.serviceendpointid);
    const patch: Record<string, unknown> = {};
    if (endpoint.url !== options.webhookUrl) patch.url = options.webhookUrl;
    if (endpoint.authtype !== 5 || options.rotateSecret) Object.assign(patch, { authtype: 5, authvalue });
    if (Object.keys(patch).length > 0) {
      await client.update('serviceendpoints', endpointId, patch);
      changed.push(`endpoint ${endpointName} (${Object.keys(patch).join(', ')})`);
    }
  }

  const steps = await client.queryAll(
    'sdkmessageprocessingsteps',
    `$filter=${encodeURIComponent(`_eventhandler_value eq ${endpointId}`)}`,
  );
  const stepIds = {} as InstallReport['stepIds'];
  for (const message of MESSAGES) {
    const sdkMessage = await findOne(client, 'sdkmessages', `name eq ${quote(message)}`);
    if (!sdkMessage) throw new Error(`The organization has no SDK message ${message}`);
    const messageId = String(sdkMessage.sdkmessageid);
    const filtering = message === 'Update' ? schema.filteringAttributes.join(',') : null;
    const existing = steps.find((s) => s._sdkmessageid_value === messageId);
    if (existing) {
      stepIds[message] = String(existing.sdkmessageprocessingstepid);
      if (message === 'Update' && existing.filteringattributes !== filtering) {
        await client.update('sdkmessageprocessingsteps', stepIds[message], {
          filteringattributes: filtering,
        });
        changed.push(`step ${message} (filteringattributes)`);
      }
      continue;
    }
    const filter = await findOne(
      client,
      'sdkmessagefilters',
      `primaryobjecttypecode eq 'opportunity' and _sdkmessageid_value eq ${messageId}`,
    );
    if (!filter) throw new Error(`The organization has no ${message} message filter for opportunity`);
    stepIds[message] = await client.create(
      'sdkmessageprocessingsteps',
      {
        name: `cosell-sync: ${message} of opportunity`,
        description: 'Tells the cosell-sync relay that an opportunity changed.',
        'eventhandler_serviceendpoint@odata.bind': `/serviceendpoints(${endpointId})`,
        'sdkmessageid@odata.bind': `/sdkmessages(${messageId})`,
        'sdkmessagefilterid@odata.bind': `/sdkmessagefilters(${String(filter.sdkmessagefilterid)})`,
        // PostOperation, asynchronous: the seller's save never waits for the relay (contract §3).
        stage: 40,
        mode: 1,
        rank: 1,
        supporteddeployment: 0,
        asyncautodelete: true,
        ...(filtering === null ? {} : { filteringattributes: filtering }),
      },
      inSolution,
    );
    changed.push(`step ${message}`);
  }
  return { changed, endpointId, stepIds };
}

export interface UninstallOptions {
  client: DataverseClient;
  schema: DynamicsSchema;
  endpointName?: string;
  /** Also delete the key and the columns (their data is lost). */
  columns?: boolean;
}

/** Removes the steps, then the endpoint; with `columns`, the key and the columns too. Returns what it removed. */
export async function uninstall(options: UninstallOptions): Promise<string[]> {
  const { client, schema } = options;
  const endpointName = options.endpointName ?? 'cosell-sync relay';
  const removed: string[] = [];
  const endpoint = await findOne(client, 'serviceendpoints', `name eq ${quote(endpointName)}`);
  if (endpoint) {
    const endpointId = String(endpoint.serviceendpointid);
    const steps = await client.queryAll(
      'sdkmessageprocessingsteps',
      `$filter=${encodeURIComponent(`_eventhandler_value eq ${endpointId}`)}`,
    );
    for (const step of steps) {
      if (await client.remove('sdkmessageprocessingsteps', String(step.sdkmessageprocessingstepid)))
        removed.push(`step ${String(step.name)}`);
    }
    if (await client.remove('serviceendpoints', endpointId)) removed.push(`endpoint ${endpointName}`);
  }
  if (!options.columns) return removed;
  const keyPath = `${ENTITY}/Keys(LogicalName=${quote(schema.key.logicalName)})`;
  try {
    await client.request('DELETE', keyPath);
    removed.push(`key ${schema.key.logicalName}`);
  } catch (error) {
    if (!(error instanceof DataverseError && error.code === 'DV_NOT_FOUND')) throw error;
  }
  for (const column of schema.columns) {
    const response = await client.request(
      'DELETE',
      `${ENTITY}/Attributes(LogicalName=${quote(column.logicalName)})`,
      { accept: [404] },
    );
    if (response.status !== 404) removed.push(`column ${column.logicalName}`);
  }
  return removed;
}
