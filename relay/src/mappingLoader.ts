/**
 * The file side of the mapping: reads config/mapping.json and the Opportunity field XML in
 * force-app, then hands plain values to the pure parsers.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from './errors.ts';
import type { FieldInfo, Mapping, OpportunitySchema } from './sync/mapping.ts';
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

const UNKNOWN_FIELD = /\.opportunity: ".*" is not an Opportunity field$/;

/** A mapping refused only for deal fields force-app does not define. */
const onlyUnknownFields = (error: unknown): error is ConfigError =>
  error instanceof ConfigError &&
  error.problems.length > 0 &&
  error.problems.every((p) => UNKNOWN_FIELD.test(p));

/**
 * Reads and validates the mapping file; every problem, including unreadable JSON, is a ConfigError.
 * force-app is the offline schema. With `describe` (production: the org's live describe), a mapping
 * whose only problems are fields force-app does not define (an admin's own custom fields) is checked
 * again against force-app's fields plus the org's, so it may map the org's fields too.
 */
export async function loadMapping(
  mappingFile: string,
  forceAppDir: string,
  options: { describe?: () => Promise<FieldInfo[]> } = {},
): Promise<Mapping> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(mappingFile, 'utf8'));
  } catch (error) {
    const reason = error instanceof SyntaxError ? `not valid JSON (${error.message})` : 'cannot be read';
    throw new ConfigError('MAPPING_INVALID', [`${mappingFile}: ${reason}`], { cause: error });
  }
  const schema = await loadOpportunitySchema(forceAppDir);
  try {
    return parseMapping(json, schema);
  } catch (error) {
    const { describe } = options;
    if (!describe || !onlyUnknownFields(error)) throw error;
    let described: FieldInfo[];
    try {
      described = await describe();
    } catch (cause) {
      throw new ConfigError(
        'MAPPING_INVALID',
        [
          ...error.problems,
          `the org's describe, which could define them, failed: ${(cause as Error).message}`,
        ],
        { cause },
      );
    }
    const opportunityFields = new Map([
      ...schema.opportunityFields,
      ...described.map((f) => [f.name, f] as const),
    ]);
    return parseMapping(json, { ...schema, opportunityFields });
  }
}

/**
 * The mapping checked against force-app now. With `orgFieldsLater` (production), a mapping whose only
 * problems are fields force-app lacks is not refused yet: the function returned finishes the check
 * against the org's describe. Any other problem is thrown at once.
 */
export async function loadMappingInStages(
  mappingFile: string,
  forceAppDir: string,
  orgFieldsLater: boolean,
): Promise<(describe: () => Promise<FieldInfo[]>) => Promise<Mapping>> {
  try {
    const mapping = await loadMapping(mappingFile, forceAppDir);
    return async () => mapping;
  } catch (error) {
    if (!orgFieldsLater || !onlyUnknownFields(error)) throw error;
    return (describe) => loadMapping(mappingFile, forceAppDir, { describe });
  }
}
