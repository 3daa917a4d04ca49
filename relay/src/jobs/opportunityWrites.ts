import { crashPoint } from '../crashPoint.ts';
import type { CrmAdapter, DealWrite, WriteResult } from '../crm/crmAdapter.ts';
import { beginDealWrite, endDealWrite } from '../store/dealWrites.ts';
import type { BeginWriteOptions, WriteKey } from '../store/dealWrites.ts';
import type { SyncContext } from './syncContext.ts';

/**
 * Every relay write to a deal goes through here. It carries audit lines in the audit entry field
 * (the CRM side moves them into the record's trail, and counts the save as a relay write because of
 * them), and the link counts it too (store/dealWrites.ts), so event snapshots can be trusted.
 */
export async function writeOpportunity(
  ctx: Pick<SyncContext, 'pool'> & { crm: Pick<CrmAdapter, 'fields' | 'deals'> },
  key: WriteKey,
  record: DealWrite,
  options: BeginWriteOptions & { deferred?: boolean } = {},
): Promise<WriteResult> {
  const { auditEntry } = ctx.crm.fields;
  const entry = record[auditEntry];
  if (typeof entry !== 'string' || entry === '')
    throw new Error(`A relay write to an Opportunity must carry ${auditEntry} lines`);
  const { deferred, ...beginOptions } = options;
  const begun = await beginDealWrite(ctx.pool, key, beginOptions);
  let result: WriteResult;
  try {
    result = await ctx.crm.deals.write(record, { deferred });
  } catch (error) {
    if (begun) await endDealWrite(ctx.pool, key, begun, 'failed');
    throw error;
  }
  crashPoint('sf-write:after');
  if (begun) await endDealWrite(ctx.pool, key, begun, result.created ? 'created' : 'updated');
  return result;
}
