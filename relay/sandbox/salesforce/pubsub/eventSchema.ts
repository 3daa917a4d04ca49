import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { XMLParser } from 'fast-xml-parser';

/**
 * The Avro schema Pub/Sub serves for a platform event, built from the event's field XML in
 * force-app. Shape as Salesforce serves it (contracts/salesforce.md §1.6): record named after the
 * event in namespace `com.sforce.eventbus`, `CreatedDate` (epoch ms long) and `CreatedById` first,
 * then the custom fields; a field that is not required is a `["null", T]` union defaulting to null.
 */

export interface EventFieldRule {
  name: string;
  required: boolean;
  /** Text length limit enforced at publish, when the field type has one. */
  maxLength: number | null;
}

export interface EventSchema {
  eventName: string;
  topicName: string;
  schemaId: string;
  schemaJson: string;
  type: avro.Type;
  fields: EventFieldRule[];
}

type AvroFieldType = 'string' | 'boolean' | 'double' | 'long' | 'int';

const FIELD_TYPES: Readonly<Record<string, AvroFieldType>> = {
  Text: 'string',
  TextArea: 'string',
  LongTextArea: 'string',
  Checkbox: 'boolean',
  Number: 'double',
  DateTime: 'long',
  Date: 'int',
};

interface FieldXml {
  fullName?: string;
  type?: string;
  required?: boolean;
  length?: number;
}

export function loadEventSchema(forceAppDir: string, eventName: string): EventSchema {
  const fieldsDir = path.join(forceAppDir, 'main', 'default', 'objects', eventName, 'fields');
  if (!existsSync(fieldsDir))
    throw new Error(`The package defines no fields for ${eventName} (${fieldsDir})`);
  const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: true });
  const custom = readdirSync(fieldsDir)
    .filter((file) => file.endsWith('.field-meta.xml'))
    .sort()
    .map((file) => {
      const xml =
        (parser.parse(readFileSync(path.join(fieldsDir, file), 'utf8')) as { CustomField?: FieldXml })
          .CustomField ?? {};
      const name = xml.fullName ?? file.replace(/\.field-meta\.xml$/, '');
      const avroType = xml.type === undefined ? undefined : FIELD_TYPES[xml.type];
      if (!avroType)
        throw new Error(
          `${eventName}.${name}: field type ${String(xml.type)} is not supported on platform events`,
        );
      const required = xml.required === true;
      const rule: EventFieldRule = {
        name,
        required,
        maxLength: avroType === 'string' && typeof xml.length === 'number' ? xml.length : null,
      };
      const schemaField = required
        ? { name, type: avroType }
        : { name, type: ['null', avroType], default: null };
      return { rule, schemaField };
    });

  const schema = {
    type: 'record',
    name: eventName,
    namespace: 'com.sforce.eventbus',
    fields: [
      { name: 'CreatedDate', type: 'long' },
      { name: 'CreatedById', type: 'string' },
      ...custom.map((field) => field.schemaField),
    ],
  };
  const schemaJson = JSON.stringify(schema);
  return {
    eventName,
    topicName: `/event/${eventName}`,
    schemaId: schemaIdOf(schemaJson),
    schemaJson,
    type: avro.Type.forSchema(schema as avro.Schema),
    fields: [
      { name: 'CreatedDate', required: true, maxLength: null },
      { name: 'CreatedById', required: true, maxLength: 18 },
      ...custom.map((field) => field.rule),
    ],
  };
}

/**
 * A stable fingerprint of the schema text: the same force-app gives the same id across runs, and
 * adding or changing a field gives a new one, as on the platform.
 */
export function schemaIdOf(schemaJson: string): string {
  return createHash('sha256').update(schemaJson).digest('base64url').slice(0, 22);
}

/**
 * The publish-time checks Salesforce applies to an event created in Apex (required fields, text
 * length; contracts §2.2). Returns the problems, empty when the event is valid.
 */
export function validateEvent(schema: EventSchema, payload: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const field of schema.fields) {
    const value = payload[field.name];
    if (value === undefined || value === null) {
      if (field.required) problems.push(`${field.name} is required`);
      continue;
    }
    if (field.maxLength !== null && typeof value === 'string' && value.length > field.maxLength) {
      problems.push(`${field.name} is longer than ${field.maxLength} characters`);
    }
  }
  const known = new Set(schema.fields.map((field) => field.name));
  for (const name of Object.keys(payload)) {
    if (!known.has(name)) problems.push(`${name} is not a field of ${schema.eventName}`);
  }
  if (problems.length === 0 && !schema.type.isValid(payload))
    problems.push(`payload does not match the ${schema.eventName} schema`);
  return problems;
}
