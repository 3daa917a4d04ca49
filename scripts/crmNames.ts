// Lists every Salesforce API name in the relay's production code outside relay/src/crm/salesforce:
// the package's custom names (`__c`, `__e`, `__mdt`), the standard Opportunity and Account fields
// the relay reads or writes, and SOQL / sObject terms. The CRM port (relay/src/crm/crmAdapter.ts)
// is what the rest of the relay may know of a CRM; force-app and config/mapping.json are the
// Salesforce side's own files and are not searched. Exits 1 when a name is found.
//
//   node scripts/crmNames.ts [--root <dir>]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { matchingSourceLines } from './sourceLines.ts';

const SALESFORCE_NAME = new RegExp(
  [
    String.raw`\w+__(c|e|mdt)\b`,
    String.raw`\b(StageName|IsWon|IsClosed|AccountId|SystemModstamp|LastModifiedDate|CurrencyIsoCode|CloseDate)\b`,
    String.raw`\b(Billing|Shipping)(Street|City|State|PostalCode|Country)(Code)?\b`,
    String.raw`\b(OpportunityContactRole|SOQL|sObjects?)\b`,
  ].join('|'),
);
const ADAPTER_DIR = path.join('relay', 'src', 'crm', 'salesforce');

/** `file:line: text` for every line naming a Salesforce API name outside the adapter. */
export function findSalesforceNames(root: string): string[] {
  return matchingSourceLines(root, {
    dir: path.join('relay', 'src'),
    pattern: SALESFORCE_NAME,
    skip: [ADAPTER_DIR],
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { root: { type: 'string' } } });
  const root = path.resolve(values.root ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const found = findSalesforceNames(root);
  for (const line of found) console.log(line);
  console.log(
    found.length === 0
      ? `No Salesforce API name in relay/src outside ${ADAPTER_DIR}/ (tests excluded).`
      : `${found.length} line(s) name Salesforce outside ${ADAPTER_DIR}/.`,
  );
  process.exitCode = found.length === 0 ? 0 : 1;
}
