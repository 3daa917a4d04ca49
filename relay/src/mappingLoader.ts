/**
 * The file side of the mapping: reads config/mapping.json and the Opportunity field XML in
 * force-app, then hands plain values to the pure parsers.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from './errors.ts';
import type { Mapping, OpportunitySchema } from './sync/mapping.ts';
import { parseMapping } from './sync/mapping.ts';
import { buildOpportunitySchema, parseFieldMetadata } from './crm/salesforce/opportunitySchema.ts';

const FIELDS_DIR = path.join('main', 'default', 'objects', 'Opportunity', 'fields');
const FIELD_SUFFIX = '.field-meta.xml';

/** Reads every Opportunity custom field under `forceAppDir` (the `force-app` folder) and adds the standard ones. */
export async function loadOpportunitySchema(forceAppDir: string): Promise<OpportunitySchema> {
  const directory = path.join(forceAppDir, FIELDS_DIR);
  let names: string[];
  try {
    names = (await readdir(directory)).filter((name) => name.endsWith(FIELD_SUFFIX)).sort();
  } catch (error) {
    throw new ConfigError('MAPPING_INVALID', [`${directory}: cannot read the Opportunity fields`], {
      cause: error,
    });
  }
  const fields = await Promise.all(
    names.map(async (name) => parseFieldMetadata(await readFile(path.join(directory, name), 'utf8'), name)),
  );
  return buildOpportunitySchema(fields);
}

/** Reads and validates the mapping file; every problem, including unreadable JSON, is a ConfigError. */
export async function loadMapping(mappingFile: string, forceAppDir: string): Promise<Mapping> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(mappingFile, 'utf8'));
  } catch (error) {
    const reason = error instanceof SyntaxError ? `not valid JSON (${error.message})` : 'cannot be read';
    throw new ConfigError('MAPPING_INVALID', [`${mappingFile}: ${reason}`], { cause: error });
  }
  return parseMapping(json, await loadOpportunitySchema(forceAppDir));
}
