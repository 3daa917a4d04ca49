// Offline checks of the Salesforce package (no org is reachable from CI):
//   1. every file under force-app converts to a Metadata API package (source-deploy-retrieve);
//   2. every Apex class and trigger parses with Salesforce's Apex parser (prettier-plugin-apex);
//   3. every XML file is well formed;
//   4. the Referral_Mapped_Field records match config/mapping.json;
//   5. every field named by permission sets, layouts, custom metadata records and the components'
//      @salesforce/schema imports exists;
//   6. no permission set but the integration user's reads a platform event, and no component
//      subscribes to a streaming channel (events ignore sharing, see checkEventAccess);
//   7. the inbox's Accepted and Declined stages in Referral_Sync_Setting.Default are the mapping's
//      stages.active and stages.lost, which the relay reads as Active/Accepted and Closed.
//
//   node scripts/validatePackage.ts [--root <dir>]
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ComponentSet, ForceIgnore, MetadataConverter } from '@salesforce/source-deploy-retrieve';
import type { SourceComponent } from '@salesforce/source-deploy-retrieve';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import * as prettier from 'prettier';
import { checkMappedFields, describeDifference } from './generateMappedFields.ts';

export interface CheckResult {
  name: string;
  summary: string;
  failures: string[];
  warnings: string[];
}

// Standard fields the package may reference; a name outside this list or force-app is a typo.
const STANDARD_FIELDS: Record<string, string[]> = {
  Opportunity: [
    'Id',
    'Name',
    'AccountId',
    'Amount',
    'CloseDate',
    'StageName',
    'Probability',
    'ExpectedRevenue',
    'Type',
    'NextStep',
    'LeadSource',
    'IsClosed',
    'IsWon',
    'ForecastCategoryName',
    'CampaignId',
    'Pricebook2Id',
    'OwnerId',
    'Description',
    'CurrencyIsoCode',
    'RecordTypeId',
    'TotalOpportunityQuantity',
    'IsPrivate',
    'ContactId',
    'CreatedDate',
    'CreatedById',
    'LastModifiedDate',
    'LastModifiedById',
    'SystemModstamp',
  ],
  Account: [
    'Id',
    'Name',
    'BillingStreet',
    'BillingCity',
    'BillingState',
    'BillingPostalCode',
    'BillingCountry',
    'OwnerId',
  ],
};

function walk(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      files.push(...walk(full));
    } else if (entry.isFile()) {
      files.push(full);
    }
  }
  return files.sort();
}

function relative(root: string, file: string): string {
  return path.relative(root, file);
}

function componentFiles(component: SourceComponent): string[] {
  const files: string[] = [];
  if (component.xml) {
    files.push(component.xml);
  }
  if (component.content) {
    files.push(
      ...(statSync(component.content).isDirectory() ? component.walkContent() : [component.content]),
    );
  }
  for (const child of component.getChildren()) {
    files.push(...componentFiles(child));
  }
  return files;
}

export async function checkConversion(root: string): Promise<CheckResult> {
  const result: CheckResult = { name: 'metadata conversion', summary: '', failures: [], warnings: [] };
  const packageDir = path.join(root, 'force-app');
  const forceIgnore = ForceIgnore.findAndCreate(packageDir);
  let components: SourceComponent[];
  let set: ComponentSet;
  try {
    set = ComponentSet.fromSource({ fsPaths: [packageDir] });
    components = set.getSourceComponents().toArray();
  } catch (error) {
    result.failures.push((error as Error).message);
    return result;
  }
  const covered = new Set(components.flatMap((component) => componentFiles(component)));
  const ignoredApex: string[] = [];
  for (const file of walk(packageDir)) {
    if (forceIgnore.denies(file)) {
      if (/\.(cls|trigger)$/.test(file)) {
        ignoredApex.push(relative(root, file));
      }
      continue;
    }
    if (!covered.has(file)) {
      result.failures.push(
        `${relative(root, file)}: not part of any metadata component (misnamed or misplaced?)`,
      );
    }
  }
  if (ignoredApex.length > 0) {
    result.warnings.push(
      `${ignoredApex.length} Apex file(s) are excluded by .forceignore and will not deploy: ${ignoredApex.join(', ')}`,
    );
  }
  const outputDirectory = mkdtempSync(path.join(tmpdir(), 'cosell-mdapi-'));
  try {
    await new MetadataConverter().convert(set, 'metadata', {
      type: 'directory',
      outputDirectory,
      genUniqueDir: false,
    });
  } catch (error) {
    result.failures.push(`conversion failed: ${(error as Error).message}`);
  } finally {
    rmSync(outputDirectory, { recursive: true, force: true });
  }
  result.summary = `${components.length} components`;
  return result;
}

export async function checkApex(root: string): Promise<CheckResult> {
  const result: CheckResult = { name: 'Apex syntax', summary: '', failures: [], warnings: [] };
  const files = walk(path.join(root, 'force-app')).filter((file) => /\.(cls|trigger)$/.test(file));
  for (const file of files) {
    try {
      await prettier.format(readFileSync(file, 'utf8'), {
        parser: 'apex',
        plugins: ['prettier-plugin-apex'],
        filepath: file,
      });
    } catch (error) {
      const message = (error as Error).message.split('\n')[0];
      result.failures.push(`${relative(root, file)}: ${message}`);
    }
  }
  result.summary = `${files.length} files parsed`;
  return result;
}

export function checkXml(root: string): CheckResult {
  const result: CheckResult = { name: 'XML well-formed', summary: '', failures: [], warnings: [] };
  const files = walk(path.join(root, 'force-app')).filter((file) => file.endsWith('.xml'));
  for (const file of files) {
    const verdict = XMLValidator.validate(readFileSync(file, 'utf8'));
    if (verdict !== true) {
      result.failures.push(`${relative(root, file)}:${verdict.err.line}: ${verdict.err.msg}`);
    }
  }
  result.summary = `${files.length} files`;
  return result;
}

export function checkMappedFieldRecords(root: string): CheckResult {
  const result: CheckResult = { name: 'mapped-field metadata', summary: '', failures: [], warnings: [] };
  try {
    const differences = checkMappedFields(root);
    result.failures.push(
      ...differences.map((difference) => `${describeDifference(difference)} (run npm run mapping:generate)`),
    );
  } catch (error) {
    result.failures.push((error as Error).message);
  }
  result.summary = 'matches config/mapping.json';
  return result;
}

const xmlParser = new XMLParser({ ignoreAttributes: true, isArray: () => false, parseTagValue: false });

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) {
    return [];
  }
  return Array.isArray(value) ? value : [value];
}

/** Object name → its field API names, from force-app objects plus the standard fields above. */
export function knownFields(root: string): Map<string, Set<string>> {
  const known = new Map<string, Set<string>>();
  for (const [object, fields] of Object.entries(STANDARD_FIELDS)) {
    known.set(object, new Set(fields));
  }
  const objectsDir = path.join(root, 'force-app', 'main', 'default', 'objects');
  for (const object of readdirSync(objectsDir)) {
    const fields = known.get(object) ?? new Set<string>(['Id']);
    let fieldFiles: string[] = [];
    try {
      fieldFiles = readdirSync(path.join(objectsDir, object, 'fields'));
    } catch {
      fieldFiles = [];
    }
    for (const file of fieldFiles) {
      if (file.endsWith('.field-meta.xml')) {
        fields.add(file.slice(0, -'.field-meta.xml'.length));
      }
    }
    known.set(object, fields);
  }
  return known;
}

export function checkReferences(root: string): CheckResult {
  const result: CheckResult = { name: 'field references', summary: '', failures: [], warnings: [] };
  const known = knownFields(root);
  const base = path.join(root, 'force-app', 'main', 'default');
  let count = 0;
  const expect = (file: string, object: string, field: string | undefined) => {
    count++;
    const fields = known.get(object);
    if (!fields) {
      result.failures.push(`${relative(root, file)}: unknown object ${object}`);
    } else if (field !== undefined && !fields.has(field)) {
      result.failures.push(`${relative(root, file)}: unknown field ${object}.${field}`);
    }
  };
  const parse = (file: string) => {
    try {
      return xmlParser.parse(readFileSync(file, 'utf8'));
    } catch {
      return {};
    }
  };
  const filesIn = (dir: string, suffix: string) => {
    try {
      return walk(dir).filter((file) => file.endsWith(suffix));
    } catch {
      return [];
    }
  };

  for (const file of filesIn(path.join(base, 'permissionsets'), '.permissionset-meta.xml')) {
    const permissionSet = parse(file).PermissionSet ?? {};
    for (const permission of asArray<{ field?: string }>(permissionSet.fieldPermissions)) {
      const [object, field] = String(permission.field ?? '').split('.');
      expect(file, object, field ?? '');
    }
    for (const permission of asArray<{ object?: string }>(permissionSet.objectPermissions)) {
      expect(file, String(permission.object ?? ''), undefined);
    }
  }
  for (const file of filesIn(path.join(base, 'layouts'), '.layout-meta.xml')) {
    const object = path.basename(file).split('-')[0];
    for (const section of asArray<{ layoutColumns?: unknown }>(parse(file).Layout?.layoutSections)) {
      for (const column of asArray<{ layoutItems?: unknown }>(section.layoutColumns as never)) {
        for (const item of asArray<{ field?: string }>(column.layoutItems as never)) {
          if (item.field) {
            expect(file, object, item.field);
          }
        }
      }
    }
  }
  for (const file of filesIn(path.join(base, 'customMetadata'), '.md-meta.xml')) {
    const type = `${path.basename(file).split('.')[0]}__mdt`;
    const record = parse(file).CustomMetadata ?? {};
    for (const value of asArray<{ field?: string; value?: unknown }>(record.values)) {
      expect(file, type, value.field);
      if (type === 'Referral_Mapped_Field__mdt' && value.field === 'Field_API_Name__c') {
        expect(file, 'Opportunity', String(value.value ?? ''));
      }
    }
  }
  const schemaImport = /from\s+['"]@salesforce\/schema\/([A-Za-z0-9_]+)(?:\.([A-Za-z0-9_]+))?['"]/g;
  for (const file of filesIn(path.join(base, 'lwc'), '.js').filter(
    (f) => !f.includes(`${path.sep}__tests__${path.sep}`),
  )) {
    for (const match of readFileSync(file, 'utf8').matchAll(schemaImport)) {
      expect(file, match[1], match[2]);
    }
  }
  const components = new Set(
    filesIn(path.join(base, 'lwc'), '.js-meta.xml').map((f) => path.basename(path.dirname(f))),
  );
  for (const file of filesIn(path.join(base, 'flexipages'), '.flexipage-meta.xml')) {
    for (const match of readFileSync(file, 'utf8').matchAll(/<componentName>([^<:]+)<\/componentName>/g)) {
      count++;
      if (!components.has(match[1])) {
        result.failures.push(`${relative(root, file)}: unknown component ${match[1]}`);
      }
    }
  }
  result.summary = `${count} references`;
  return result;
}

/** The only permission set that may read the package's platform events. */
export const EVENT_READER = 'Cosell_Integration_User';

/**
 * A platform event reaches every subscriber with read access to it, whatever the sharing of the
 * record it describes and the subscriber's field-level security. Referral_Sync__e carries the saved
 * record (Record_Snapshot__c), so a seller able to read it would receive every synced Opportunity.
 * Only the integration user's permission set may read an event, and the components refresh through
 * Lightning Data Service (which applies sharing) instead of a lightning/empApi subscription.
 */
export function checkEventAccess(root: string): CheckResult {
  const result: CheckResult = { name: 'event access', summary: '', failures: [], warnings: [] };
  const base = path.join(root, 'force-app', 'main', 'default');
  const files = (dir: string, suffix: string) => {
    try {
      return walk(dir).filter((file) => file.endsWith(suffix));
    } catch {
      return [];
    }
  };
  let events: string[] = [];
  try {
    events = readdirSync(path.join(base, 'objects')).filter((name) => name.endsWith('__e'));
  } catch {
    events = [];
  }
  for (const file of files(path.join(base, 'permissionsets'), '.permissionset-meta.xml')) {
    const name = path.basename(file, '.permissionset-meta.xml');
    let permissionSet: { objectPermissions?: unknown } = {};
    try {
      permissionSet = xmlParser.parse(readFileSync(file, 'utf8')).PermissionSet ?? {};
    } catch {
      permissionSet = {};
    }
    for (const permission of asArray<{ object?: string; allowRead?: string }>(
      permissionSet.objectPermissions as never,
    )) {
      const object = String(permission.object ?? '');
      if (object.endsWith('__e') && String(permission.allowRead).trim() === 'true' && name !== EVENT_READER) {
        result.failures.push(
          `${relative(root, file)}: reads ${object}; platform events ignore sharing, only ${EVENT_READER} may read one`,
        );
      }
    }
  }
  const components = files(path.join(base, 'lwc'), '.js').filter(
    (file) => !file.includes(`${path.sep}__tests__${path.sep}`),
  );
  for (const file of components) {
    const source = readFileSync(file, 'utf8');
    if (/from\s+['"]lightning\/empApi['"]/.test(source)) {
      result.failures.push(
        `${relative(root, file)}: subscribes with lightning/empApi; refresh through Lightning Data Service, which applies sharing`,
      );
    }
    for (const match of source.matchAll(/from\s+['"]@salesforce\/schema\/([A-Za-z0-9_]+__e)[.'"]/g)) {
      result.failures.push(`${relative(root, file)}: imports the platform event ${match[1]}`);
    }
  }
  result.summary = `${events.length} event(s), readable by ${EVENT_READER} only; ${components.length} component file(s) without streaming`;
  return result;
}

/** Setting field → the stages key of config/mapping.json it must equal. */
const STAGE_SETTINGS: Record<string, string> = { Accepted_Stage__c: 'active', Declined_Stage__c: 'lost' };

export function checkStageSettings(root: string): CheckResult {
  const result: CheckResult = { name: 'inbox stages', summary: '', failures: [], warnings: [] };
  const file = path.join(
    'force-app',
    'main',
    'default',
    'customMetadata',
    'Referral_Sync_Setting.Default.md-meta.xml',
  );
  let stages: Record<string, unknown> = {};
  let values: { field?: string; value?: unknown }[] = [];
  try {
    stages = JSON.parse(readFileSync(path.join(root, 'config', 'mapping.json'), 'utf8')).stages ?? {};
    values = asArray(xmlParser.parse(readFileSync(path.join(root, file), 'utf8')).CustomMetadata?.values);
  } catch (error) {
    result.failures.push((error as Error).message);
    return result;
  }
  for (const [field, key] of Object.entries(STAGE_SETTINGS)) {
    const entry = values.find((value) => value.field === field);
    const value = entry?.value;
    if (String(value ?? '') !== String(stages[key] ?? '')) {
      result.failures.push(
        `${file}: ${field} is ${JSON.stringify(value ?? null)}, config/mapping.json stages.${key} is ${JSON.stringify(stages[key] ?? null)}`,
      );
    }
  }
  result.summary = 'match config/mapping.json stages';
  return result;
}

export async function validatePackage(root: string): Promise<CheckResult[]> {
  return [
    await checkConversion(root),
    await checkApex(root),
    checkXml(root),
    checkMappedFieldRecords(root),
    checkReferences(root),
    checkEventAccess(root),
    checkStageSettings(root),
  ];
}

export function report(results: CheckResult[]): { text: string; ok: boolean } {
  const lines: string[] = [];
  for (const result of results) {
    const ok = result.failures.length === 0;
    lines.push(
      `${ok ? '✔' : '✘'} ${result.name}: ${ok ? result.summary : `${result.failures.length} failure(s)`}`,
    );
    lines.push(...result.failures.map((failure) => `    ✘ ${failure}`));
    lines.push(...result.warnings.map((warning) => `    ! ${warning}`));
  }
  const ok = results.every((result) => result.failures.length === 0);
  lines.push(ok ? 'package valid' : 'package INVALID');
  return { text: lines.join('\n'), ok };
}

function parseRoot(argv: string[]): string {
  const index = argv.indexOf('--root');
  if (index >= 0) {
    if (!argv[index + 1]) {
      throw new Error('--root needs a directory');
    }
    return path.resolve(argv[index + 1]);
  }
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { text, ok } = report(await validatePackage(parseRoot(process.argv.slice(2))));
    console.log(text);
    process.exitCode = ok ? 0 : 1;
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
