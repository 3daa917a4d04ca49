// Generates the Referral_Mapped_Field__mdt records (force-app/main/default/customMetadata) from
// config/mapping.json: one record per entry that Salesforce sends to Partner Center (direction
// outbound or both; sf-to-pc is outbound's older name) on a direct Opportunity field. The Opportunity trigger publishes only when one of
// these fields changes, so the records must follow the mapping; `--check` reports drift instead of
// writing.
//
//   node scripts/generateMappedFields.ts [--check] [--root <dir>]
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RECORD_PREFIX = 'Referral_Mapped_Field.';
export const RECORD_SUFFIX = '.md-meta.xml';
export const CUSTOM_METADATA_DIR = path.join('force-app', 'main', 'default', 'customMetadata');
export const MAPPING_FILE = path.join('config', 'mapping.json');

const OUTBOUND_DIRECTIONS = new Set(['outbound', 'both', 'sf-to-pc']);
const DIRECTIONS = new Set(['outbound', 'both', 'inbound', 'sf-to-pc', 'pc-to-sf']);
// DeveloperName rules: a letter first, letters, digits and single underscores, no trailing
// underscore, at most 40 characters. Labels are limited to 40 characters as well.
const DEVELOPER_NAME = /^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$/;
const MAX_NAME = 40;

export interface MappingEntry {
  name: string;
  opportunity: string;
  direction: string;
}

export interface MappedFieldRecord {
  fileName: string;
  developerName: string;
  fieldApiName: string;
  label: string;
  content: string;
}

export interface RecordDifference {
  fileName: string;
  kind: 'missing' | 'stale' | 'changed';
}

export class MappingError extends Error {}

/** Reads and checks the `fields` array of a parsed mapping; errors name the entry at fault. */
export function mappingEntries(mapping: unknown): MappingEntry[] {
  const fields = (mapping as { fields?: unknown } | null)?.fields;
  if (!Array.isArray(fields)) {
    throw new MappingError('mapping: "fields" must be an array');
  }
  return fields.map((raw, index) => {
    const entry = raw as Partial<Record<keyof MappingEntry, unknown>>;
    const where = `mapping.fields[${index}]${typeof entry?.name === 'string' ? ` (${entry.name})` : ''}`;
    for (const key of ['name', 'opportunity', 'direction'] as const) {
      if (typeof entry?.[key] !== 'string' || (entry[key] as string).length === 0) {
        throw new MappingError(`${where}: "${key}" must be a non-empty string`);
      }
    }
    if (!DIRECTIONS.has(entry.direction as string)) {
      throw new MappingError(
        `${where}: direction "${String(entry.direction)}" is not one of ${[...DIRECTIONS].join(', ')}`,
      );
    }
    return {
      name: entry.name as string,
      opportunity: entry.opportunity as string,
      direction: entry.direction as string,
    };
  });
}

/** `How_can_Microsoft_help__c` → `How_can_Microsoft_help`; standard names stay as they are. */
export function developerNameFor(fieldApiName: string): string {
  const name = fieldApiName.replace(/__c$/i, '');
  if (name.length > MAX_NAME || !DEVELOPER_NAME.test(name) || name.endsWith('_')) {
    throw new MappingError(
      `Opportunity field "${fieldApiName}" does not give a valid custom metadata record name`,
    );
  }
  return name;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function recordXml(label: string, fieldApiName: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8" ?>',
    '<CustomMetadata',
    '    xmlns="http://soap.sforce.com/2006/04/metadata"',
    '    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
    '    xmlns:xsd="http://www.w3.org/2001/XMLSchema"',
    '>',
    `    <label>${escapeXml(label)}</label>`,
    '    <protected>false</protected>',
    '    <values>',
    '        <field>Field_API_Name__c</field>',
    `        <value xsi:type="xsd:string">${escapeXml(fieldApiName)}</value>`,
    '    </values>',
    '</CustomMetadata>',
    '',
  ].join('\n');
}

/** The records the mapping calls for, sorted by file name. Pure. */
export function expectedRecords(mapping: unknown): MappedFieldRecord[] {
  const byField = new Map<string, MappedFieldRecord>();
  for (const entry of mappingEntries(mapping)) {
    if (!OUTBOUND_DIRECTIONS.has(entry.direction) || entry.opportunity.includes('.')) {
      continue;
    }
    const developerName = developerNameFor(entry.opportunity);
    const key = developerName.toLowerCase();
    const existing = byField.get(key);
    if (existing) {
      if (existing.fieldApiName !== entry.opportunity) {
        throw new MappingError(
          `mapping entries "${existing.label}" and "${entry.name}" give the same record name ${developerName}`,
        );
      }
      continue;
    }
    const label = entry.name.slice(0, MAX_NAME);
    byField.set(key, {
      fileName: `${RECORD_PREFIX}${developerName}${RECORD_SUFFIX}`,
      developerName,
      fieldApiName: entry.opportunity,
      label,
      content: recordXml(label, entry.opportunity),
    });
  }
  return [...byField.values()].sort((a, b) => a.fileName.localeCompare(b.fileName));
}

// Formatting (Prettier's XML plugin, an editor) is not drift: compare with whitespace between
// tags removed and runs of whitespace collapsed.
function normalizeXml(xml: string): string {
  return xml.replace(/>\s+</g, '><').replace(/\s+/g, ' ').trim();
}

/** Differences between the expected records and the files present (name → content). Pure. */
export function diffRecords(expected: MappedFieldRecord[], present: Map<string, string>): RecordDifference[] {
  const differences: RecordDifference[] = [];
  const wanted = new Set(expected.map((record) => record.fileName));
  for (const record of expected) {
    const content = present.get(record.fileName);
    if (content === undefined) {
      differences.push({ fileName: record.fileName, kind: 'missing' });
    } else if (normalizeXml(content) !== normalizeXml(record.content)) {
      differences.push({ fileName: record.fileName, kind: 'changed' });
    }
  }
  for (const fileName of [...present.keys()].sort()) {
    if (!wanted.has(fileName)) {
      differences.push({ fileName, kind: 'stale' });
    }
  }
  return differences;
}

export function readPresentRecords(customMetadataDir: string): Map<string, string> {
  const present = new Map<string, string>();
  if (!existsSync(customMetadataDir)) {
    return present;
  }
  for (const fileName of readdirSync(customMetadataDir)) {
    if (fileName.startsWith(RECORD_PREFIX) && fileName.endsWith(RECORD_SUFFIX)) {
      present.set(fileName, readFileSync(path.join(customMetadataDir, fileName), 'utf8'));
    }
  }
  return present;
}

export function readMapping(root: string): unknown {
  const file = path.join(root, MAPPING_FILE);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new MappingError(`${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** Compares the checked-in records under root with config/mapping.json. */
export function checkMappedFields(root: string): RecordDifference[] {
  const expected = expectedRecords(readMapping(root));
  return diffRecords(expected, readPresentRecords(path.join(root, CUSTOM_METADATA_DIR)));
}

/** Writes missing and changed records and removes stale ones; returns what it did. */
export function writeMappedFields(root: string): RecordDifference[] {
  const dir = path.join(root, CUSTOM_METADATA_DIR);
  const expected = expectedRecords(readMapping(root));
  const differences = diffRecords(expected, readPresentRecords(dir));
  mkdirSync(dir, { recursive: true });
  const byName = new Map(expected.map((record) => [record.fileName, record]));
  for (const difference of differences) {
    const target = path.join(dir, difference.fileName);
    if (difference.kind === 'stale') {
      rmSync(target);
    } else {
      writeFileSync(target, byName.get(difference.fileName)!.content);
    }
  }
  return differences;
}

export function describeDifference(difference: RecordDifference): string {
  const reasons = {
    missing: 'missing (the mapping sends this field to Partner Center)',
    changed: 'out of date',
    stale: 'stale (no outbound mapping entry for this field)',
  } as const;
  return `${path.join(CUSTOM_METADATA_DIR, difference.fileName)}: ${reasons[difference.kind]}`;
}

export function parseArgs(argv: string[]): { check: boolean; root: string } {
  let check = false;
  let root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--check') {
      check = true;
    } else if (argv[i] === '--root' && argv[i + 1]) {
      root = path.resolve(argv[++i]);
    } else {
      throw new Error(`unknown argument "${argv[i]}" (usage: [--check] [--root <dir>])`);
    }
  }
  return { check, root };
}

function main(): number {
  const { check, root } = parseArgs(process.argv.slice(2));
  if (check) {
    const differences = checkMappedFields(root);
    if (differences.length === 0) {
      console.log('Referral_Mapped_Field records match config/mapping.json');
      return 0;
    }
    console.error(
      'Referral_Mapped_Field records differ from config/mapping.json (run npm run mapping:generate):',
    );
    for (const difference of differences) {
      console.error(`  ${describeDifference(difference)}`);
    }
    return 1;
  }
  const changes = writeMappedFields(root);
  for (const change of changes) {
    console.log(
      `${change.kind === 'stale' ? 'removed' : 'wrote'} ${path.join(CUSTOM_METADATA_DIR, change.fileName)}`,
    );
  }
  console.log(
    changes.length === 0
      ? 'Referral_Mapped_Field records already current'
      : `${changes.length} record(s) updated`,
  );
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
