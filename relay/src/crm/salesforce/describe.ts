/**
 * The Opportunity's field rules as the org defines them (REST describe), for fitting values in
 * production: an admin may have shortened a field, restricted a picklist or made a field required,
 * none of which force-app knows. Sandbox mode keeps force-app's definitions.
 */
import type { Connection } from 'jsforce';
import type { FieldInfo } from '../../sync/index.ts';

/** The DescribeField properties the relay reads (Salesforce REST API, sObject Describe). */
export interface DescribedField {
  name: string;
  type: string;
  length?: number;
  precision?: number;
  scale?: number;
  nillable?: boolean;
  createable?: boolean;
  updateable?: boolean;
  defaultedOnCreate?: boolean;
  calculated?: boolean;
  restrictedPicklist?: boolean;
  extraTypeInfo?: string | null;
  picklistValues?: Array<{ value: string; active?: boolean }> | null;
}

/** Describe types → the metadata types the mapping and the fitting speak. */
function metadataType(field: DescribedField): string {
  switch (field.type) {
    case 'string':
      return 'Text';
    case 'textarea':
      if (field.extraTypeInfo === 'richtextarea') return 'Html';
      return (field.length ?? 0) > 255 ? 'LongTextArea' : 'TextArea';
    case 'url':
      return 'Url';
    case 'email':
      return 'Email';
    case 'phone':
      return 'Phone';
    case 'picklist':
      return 'Picklist';
    case 'multipicklist':
      return 'MultiselectPicklist';
    case 'boolean':
      return 'Checkbox';
    case 'currency':
      return 'Currency';
    case 'double':
    case 'int':
      return 'Number';
    case 'percent':
      return 'Percent';
    case 'date':
      return 'Date';
    case 'datetime':
      return 'DateTime';
    case 'reference':
      return 'Lookup';
    case 'id':
      return 'Id';
    default:
      return field.type;
  }
}

export function fieldInfoFromDescribe(field: DescribedField): FieldInfo {
  const type = metadataType(field);
  const values = field.picklistValues?.filter((value) => value.active !== false).map((value) => value.value);
  const writable = field.calculated !== true && (field.updateable === true || field.createable === true);
  const numeric = ['Currency', 'Number', 'Percent'].includes(type);
  return {
    name: field.name,
    type,
    ...(!numeric && (field.length ?? 0) > 0 ? { length: field.length } : {}),
    ...(numeric && (field.precision ?? 0) > 0 ? { precision: field.precision, scale: field.scale ?? 0 } : {}),
    ...(values !== undefined && values.length > 0
      ? { picklistValues: values, restricted: field.restrictedPicklist === true }
      : {}),
    ...(writable ? {} : { updateable: false }),
    // Required on create: not nillable, and nothing fills it in (a Checkbox is never null).
    ...(writable && field.nillable === false && field.defaultedOnCreate !== true && type !== 'Checkbox'
      ? { required: true }
      : {}),
  };
}

/** Reads the Opportunity's fields from the org (one describe call). */
export async function describeOpportunityFields(connection: Connection): Promise<FieldInfo[]> {
  const result = (await connection.sobject('Opportunity').describe()) as unknown as {
    fields: DescribedField[];
  };
  return result.fields.map(fieldInfoFromDescribe);
}
