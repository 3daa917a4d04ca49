import { crashPoint } from '../crashPoint.ts';
import { AUDIT_ENTRY_FIELD } from '../salesforce/opportunityGateway.ts';
import type { OpportunityWrite, WriteResult } from '../salesforce/opportunityGateway.ts';
import { beginSalesforceWrite, endSalesforceWrite } from '../store/salesforceWrites.ts';
import type { BeginWriteOptions, WriteKey } from '../store/salesforceWrites.ts';
import type { SyncContext } from './syncContext.ts';

/**
 * Every relay write to an Opportunity goes through here. It carries audit lines in Audit_Entry__c
 * (the package's trigger moves them into Audit__c, and counts the save as a relay write because of
 * them), and the link counts it too (store/salesforceWrites.ts), so event snapshots can be trusted.
 */
export async function writeOpportunity(
  ctx: Pick<SyncContext, 'pool' | 'opportunities'>,
  key: WriteKey,
  record: OpportunityWrite,
  options: BeginWriteOptions & { deferred?: boolean } = {},
): Promise<WriteResult> {
  const entry = record[AUDIT_ENTRY_FIELD];
  if (typeof entry !== 'string' || entry === '')
    throw new Error(`A relay write to an Opportunity must carry ${AUDIT_ENTRY_FIELD} lines`);
  const { deferred, ...beginOptions } = options;
  const begun = await beginSalesforceWrite(ctx.pool, key, beginOptions);
  let result: WriteResult;
  try {
    result = await ctx.opportunities.write(record, { deferred });
  } catch (error) {
    if (begun) await endSalesforceWrite(ctx.pool, key, begun, 'failed');
    throw error;
  }
  crashPoint('sf-write:after');
  if (begun) await endSalesforceWrite(ctx.pool, key, begun, result.created ? 'created' : 'updated');
  return result;
}
