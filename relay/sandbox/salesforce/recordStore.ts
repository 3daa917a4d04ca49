import { createIdGenerator, isSalesforceId, toId18 } from './ids.ts';
import { createSchemaRegistry, OPPORTUNITY_STAGES } from './schema.ts';
import type { FieldDefinition, SchemaRegistry } from './schema.ts';
import { executeSoql } from './soql.ts';
import type { QueryResult } from './soql.ts';
import type { SandboxUser } from './users.ts';

/**
 * The sandbox org's data: records of every object kept in memory, validated against the schema
 * (standard fields plus the package's fields read from force-app) exactly where Salesforce would
 * reject a write. The REST API and the Pub/Sub half both work through this module.
 */

export type SObjectRecord = Record<string, unknown>;

/** One error as Salesforce reports it inside a save result. */
export interface SalesforceError {
  statusCode: string;
  message: string;
  fields: string[];
}

/**
 * A rejected write. `requestLevel` errors (an unknown field) fail the whole HTTP request, as
 * Salesforce's JSON deserializer does; the others are per-record DML errors.
 */
export class RecordWriteError extends Error {
  readonly errors: SalesforceError[];
  readonly requestLevel: boolean;
  constructor(errors: SalesforceError[], requestLevel = false) {
    super(errors.map((e) => `${e.statusCode}: ${e.message}`).join('; '));
    this.name = 'RecordWriteError';
    this.errors = errors;
    this.requestLevel = requestLevel;
  }
}

export interface RecordChange {
  sobject: string;
  /** delete / undelete: `before` and `after` are both the record as deleted or restored. */
  operation: 'insert' | 'update' | 'delete' | 'undelete';
  before: SObjectRecord | null;
  after: SObjectRecord;
  /** The user whose session made the write (the trigger rule skips the integration user). */
  userId: string;
}

export type RecordChangeListener = (change: RecordChange) => void;

export interface RecordStore {
  readonly schema: SchemaRegistry;
  /** A copy of the record, by 15- or 18-character id; undefined when absent. */
  get(sobject: string, id: string): SObjectRecord | undefined;
  /** Copies of every record of `sobject`, in insertion order. */
  all(sobject: string): SObjectRecord[];
  /** Records whose `field` equals `value` (case-insensitively unless the field is case-sensitive). */
  findBy(sobject: string, field: string, value: unknown): SObjectRecord[];
  insert(sobject: string, values: SObjectRecord, userId: string): SObjectRecord;
  update(sobject: string, id: string, values: SObjectRecord, userId: string): SObjectRecord;
  /** Moves the record to the recycle bin (after-delete listeners run); false when there is none. */
  delete(sobject: string, id: string, userId?: string): boolean;
  /** Restores a record from the recycle bin (after-undelete listeners run); false when it is not there. */
  undelete(sobject: string, id: string, userId: string): boolean;
  query(soql: string, apiVersion?: string): QueryResult;
  /**
   * Runs `work` atomically: if it throws, every write it made is undone and no change event fires;
   * otherwise the events fire after it returns, in write order (Salesforce's allOrNone).
   */
  transaction<T>(work: () => T): T;
  /** Called synchronously after each committed write, once per record, in order. */
  onChange(listener: RecordChangeListener): () => void;
  /**
   * Called before each write is stored (a before-save trigger): field values the listener returns
   * are set on the record being saved.
   */
  onBeforeSave(listener: (change: RecordChange) => SObjectRecord | void): () => void;
}

export interface RecordStoreOptions {
  schema?: SchemaRegistry;
  /** Users become User records, so LastModifiedBy.Username and friends resolve in SOQL. */
  users?: readonly SandboxUser[];
  /** Fixed clock for tests. */
  now?: () => Date;
  /** Where a throwing change listener is reported; the write itself stays committed. */
  onListenerError?: (error: unknown) => void;
}

/** Salesforce's REST datetime format: 2026-11-25T08:54:37.000+0000. */
export function formatDateTime(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

const TEXT_TYPES = new Set(['string', 'textarea', 'url', 'email', 'phone', 'picklist']);
const NUMBER_TYPES = new Set(['currency', 'double', 'percent']);

function isValidDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

function isValidDateTime(value: string): boolean {
  return (
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(value) &&
    !Number.isNaN(Date.parse(value))
  );
}

function uniqueKey(field: FieldDefinition, value: unknown): string {
  if (field.type === 'id' || field.type === 'reference') return toId18(value) ?? String(value);
  return field.caseSensitive ? String(value) : String(value).toLowerCase();
}

export function createRecordStore(options: RecordStoreOptions = {}): RecordStore {
  const schema = options.schema ?? createSchemaRegistry();
  const now = options.now ?? (() => new Date());
  const onListenerError =
    options.onListenerError ??
    ((error: unknown) => console.error('sandbox record change listener failed', error));
  const nextId = createIdGenerator();
  let tables = new Map<string, Map<string, SObjectRecord>>();
  const listeners = new Set<RecordChangeListener>();
  const beforeSave = new Set<(change: RecordChange) => SObjectRecord | void>();
  const runBeforeSave = (change: RecordChange): void => {
    for (const listener of [...beforeSave]) Object.assign(change.after, listener(change) ?? {});
  };
  let pendingChanges: RecordChange[] | undefined;

  const table = (sobject: string): Map<string, SObjectRecord> => {
    let rows = tables.get(sobject);
    if (!rows) {
      rows = new Map();
      tables.set(sobject, rows);
    }
    return rows;
  };

  const objectName = (sobject: string): string => {
    const object = schema.object(sobject);
    if (!object)
      throw new RecordWriteError(
        [{ statusCode: 'INVALID_TYPE', message: `sObject type '${sobject}' is not supported.`, fields: [] }],
        true,
      );
    return object.name;
  };

  const lookup = (sobject: string, id: string): SObjectRecord | undefined => {
    const key = toId18(id);
    return key ? tables.get(objectName(sobject))?.get(key) : undefined;
  };

  // Deleted records, by `<object>:<id18>`, until undeleted (Salesforce's recycle bin).
  const recycleBin = new Map<string, SObjectRecord>();
  const emit = (change: RecordChange): void => {
    if (pendingChanges) {
      pendingChanges.push(change);
      return;
    }
    for (const listener of [...listeners]) {
      try {
        listener({ ...change, before: change.before && { ...change.before }, after: { ...change.after } });
      } catch (error) {
        onListenerError(error);
      }
    }
  };

  /** Checks `values` against the schema and returns them under canonical field names. */
  const validate = (
    sobject: string,
    values: SObjectRecord,
    operation: 'insert' | 'update',
    selfId?: string,
  ): SObjectRecord => {
    const unknown: string[] = [];
    const clean: SObjectRecord = {};
    for (const [name, value] of Object.entries(values)) {
      if (name === 'attributes') continue;
      const field = schema.field(sobject, name);
      if (!field) unknown.push(name);
      else clean[field.name] = value;
    }
    if (unknown.length > 0) {
      throw new RecordWriteError(
        unknown.map((name) => ({
          statusCode: 'INVALID_FIELD',
          message: `No such column '${name}' on sobject of type ${sobject}`,
          fields: [],
        })),
        true,
      );
    }
    const errors: SalesforceError[] = [];
    for (const [name, value] of Object.entries(clean)) {
      const field = schema.field(sobject, name)!;
      if (name === 'Id') {
        if (operation === 'insert')
          errors.push({
            statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
            message: 'cannot specify Id in an insert call',
            fields: ['Id'],
          });
        delete clean.Id;
        continue;
      }
      if (!(operation === 'insert' ? field.createable : field.updateable)) {
        errors.push({
          statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
          message: `Unable to create/update fields: ${name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          fields: [name],
        });
        continue;
      }
      const typeError = (expected: string): void => {
        errors.push({
          statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
          message: `${field.label}: value not of required type: ${typeof value === 'string' ? value : JSON.stringify(value)} (expected ${expected})`,
          fields: [name],
        });
      };
      if (value === null) {
        if (field.type === 'boolean') clean[name] = false;
        else if (field.required && operation === 'update') {
          errors.push({
            statusCode: 'REQUIRED_FIELD_MISSING',
            message: `Required fields are missing: [${name}]`,
            fields: [name],
          });
        } else if (field.restrictedPicklist && field.required) {
          errors.push({
            statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
            message: `${field.label}: bad value for restricted picklist field: null`,
            fields: [name],
          });
        }
        continue;
      }
      if (TEXT_TYPES.has(field.type)) {
        if (typeof value !== 'string') {
          typeError('text');
          continue;
        }
        if (field.length > 0 && value.length > field.length) {
          errors.push({
            statusCode: 'STRING_TOO_LONG',
            message: `${field.label}: data value too large: ${value.slice(0, 40)}${value.length > 40 ? '...' : ''} (max length=${field.length})`,
            fields: [name],
          });
        } else if (
          field.type === 'picklist' &&
          field.restrictedPicklist &&
          !field.picklistValues?.includes(value)
        ) {
          errors.push({
            statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
            message: `${field.label}: bad value for restricted picklist field: ${value}`,
            fields: [name],
          });
        } else if (field.type === 'email' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
          errors.push({
            statusCode: 'INVALID_EMAIL_ADDRESS',
            message: `${field.label}: invalid email address: ${value}`,
            fields: [name],
          });
        }
      } else if (field.type === 'boolean') {
        if (typeof value !== 'boolean') typeError('boolean');
      } else if (NUMBER_TYPES.has(field.type)) {
        if (typeof value !== 'number' || !Number.isFinite(value)) typeError('number');
      } else if (field.type === 'date') {
        if (typeof value !== 'string' || !isValidDate(value)) typeError('date YYYY-MM-DD');
      } else if (field.type === 'datetime') {
        if (typeof value !== 'string' || !isValidDateTime(value)) typeError('datetime');
        else clean[name] = formatDateTime(new Date(value));
      } else if (field.type === 'reference') {
        const target = field.referenceTo!;
        const prefix = schema.object(target)?.keyPrefix;
        if (!isSalesforceId(value) || !value.startsWith(prefix ?? '')) {
          errors.push({
            statusCode: 'MALFORMED_ID',
            message: `${field.label}: id value of incorrect type: ${String(value)}`,
            fields: [name],
          });
        } else if (!lookup(target, value)) {
          errors.push({
            statusCode: 'INVALID_CROSS_REFERENCE_KEY',
            message: `${field.label}: invalid cross reference id`,
            fields: [name],
          });
        } else {
          clean[name] = toId18(value);
        }
      }
    }
    if (errors.length > 0) throw new RecordWriteError(errors);
    // Unique fields (the package's external id) reject a second record with the same value.
    for (const [name, value] of Object.entries(clean)) {
      const field = schema.field(sobject, name)!;
      if (!field.unique || value === null || value === undefined || field.type === 'id') continue;
      const key = uniqueKey(field, value);
      for (const row of table(sobject).values()) {
        if (
          row.Id !== selfId &&
          row[name] !== null &&
          row[name] !== undefined &&
          uniqueKey(field, row[name]) === key
        ) {
          throw new RecordWriteError([
            {
              statusCode: 'DUPLICATE_VALUE',
              message: `duplicate value found: ${name} duplicates value on record with id: ${String(row.Id)}`,
              fields: [name],
            },
          ]);
        }
      }
    }
    return clean;
  };

  /** Fields Salesforce derives on save. */
  const derive = (
    sobject: string,
    record: SObjectRecord,
    changes: SObjectRecord,
    operation: 'insert' | 'update',
  ): void => {
    if (sobject !== 'Opportunity') return;
    const stage = OPPORTUNITY_STAGES.find((s) => s.name === record.StageName);
    if (!stage) return;
    record.IsClosed = stage.closed;
    record.IsWon = stage.won;
    // The stage's default probability applies when the stage changes and no probability was given.
    const stageChanged = operation === 'insert' || 'StageName' in changes;
    if (stageChanged && !('Probability' in changes)) record.Probability = stage.probability;
  };

  const insert = (sobject: string, values: SObjectRecord, userId: string): SObjectRecord => {
    const name = objectName(sobject);
    const object = schema.object(name)!;
    const clean = validate(name, values, 'insert');
    const record: SObjectRecord = {};
    for (const field of object.fields)
      record[field.name] = field.defaultValue ?? (field.type === 'boolean' ? false : null);
    Object.assign(record, clean);
    const missing = object.fields
      .filter(
        (f) =>
          f.required && (record[f.name] === null || record[f.name] === undefined || record[f.name] === ''),
      )
      .map((f) => f.name);
    if (missing.length > 0)
      throw new RecordWriteError([
        {
          statusCode: 'REQUIRED_FIELD_MISSING',
          message: `Required fields are missing: [${missing.join(', ')}]`,
          fields: missing,
        },
      ]);
    const stamp = formatDateTime(now());
    record.Id = nextId(name);
    record.CreatedDate = stamp;
    record.LastModifiedDate = stamp;
    record.SystemModstamp = stamp;
    record.CreatedById = userId;
    record.LastModifiedById = userId;
    if ('OwnerId' in record && !record.OwnerId) record.OwnerId = userId;
    derive(name, record, clean, 'insert');
    runBeforeSave({ sobject: name, operation: 'insert', before: null, after: record, userId });
    table(name).set(record.Id as string, record);
    emit({ sobject: name, operation: 'insert', before: null, after: record, userId });
    return { ...record };
  };

  const update = (sobject: string, id: string, values: SObjectRecord, userId: string): SObjectRecord => {
    const name = objectName(sobject);
    const key = toId18(id);
    const before = key ? table(name).get(key) : undefined;
    if (!before) {
      const prefix = schema.object(name)!.keyPrefix;
      const code = isSalesforceId(id) && id.startsWith(prefix) ? 'ENTITY_IS_DELETED' : 'MALFORMED_ID';
      const message =
        code === 'ENTITY_IS_DELETED' ? 'entity is deleted' : `${name} ID: id value of incorrect type: ${id}`;
      throw new RecordWriteError([
        { statusCode: code, message, fields: code === 'MALFORMED_ID' ? ['Id'] : [] },
      ]);
    }
    const { Id: givenId, ...rest } = values;
    if (givenId !== undefined && toId18(givenId) !== key) {
      throw new RecordWriteError([
        {
          statusCode: 'INVALID_ID_FIELD',
          message: 'The Id field should not be specified in the sobject data.',
          fields: ['Id'],
        },
      ]);
    }
    const clean = validate(name, rest, 'update', key);
    const after: SObjectRecord = { ...before, ...clean };
    const stamp = formatDateTime(now());
    after.LastModifiedDate = stamp;
    after.SystemModstamp = stamp;
    after.LastModifiedById = userId;
    derive(name, after, clean, 'update');
    runBeforeSave({ sobject: name, operation: 'update', before: { ...before }, after, userId });
    table(name).set(key!, after);
    emit({ sobject: name, operation: 'update', before: { ...before }, after, userId });
    return { ...after };
  };

  seedUsers(options.users ?? []);

  return {
    schema,
    get: (sobject, id) => {
      const record = lookup(sobject, id);
      return record && { ...record };
    },
    all: (sobject) => [...table(objectName(sobject)).values()].map((r) => ({ ...r })),
    findBy: (sobject, fieldName, value) => {
      const name = objectName(sobject);
      const field = schema.field(name, fieldName);
      if (!field) return [];
      const key = uniqueKey(field, value);
      return [...table(name).values()]
        .filter(
          (r) =>
            r[field.name] !== null && r[field.name] !== undefined && uniqueKey(field, r[field.name]) === key,
        )
        .map((r) => ({ ...r }));
    },
    insert,
    update,
    delete: (sobject, id, userId = '') => {
      const key = toId18(id);
      const name = objectName(sobject);
      const record = key ? table(name).get(key) : undefined;
      if (!key || !record) return false;
      table(name).delete(key);
      recycleBin.set(`${name}:${key}`, record);
      emit({ sobject: name, operation: 'delete', before: record, after: record, userId });
      return true;
    },
    undelete: (sobject, id, userId) => {
      const key = toId18(id);
      const name = objectName(sobject);
      const record = key ? recycleBin.get(`${name}:${key}`) : undefined;
      if (!key || !record) return false;
      recycleBin.delete(`${name}:${key}`);
      table(name).set(key, record);
      emit({ sobject: name, operation: 'undelete', before: record, after: record, userId });
      return true;
    },
    query: (soql, apiVersion) =>
      executeSoql(soql, schema, (sobject) => table(sobject).values(), lookup, apiVersion, now().getTime()),
    transaction: <T>(work: () => T): T => {
      if (pendingChanges) return work();
      // Records are replaced, never mutated, on update, so copying the maps is a full snapshot.
      const snapshot = new Map([...tables].map(([name, rows]) => [name, new Map(rows)]));
      pendingChanges = [];
      let changes: RecordChange[];
      try {
        const result = work();
        changes = pendingChanges;
        pendingChanges = undefined;
        for (const change of changes) emit(change);
        return result;
      } catch (error) {
        tables = snapshot;
        pendingChanges = undefined;
        throw error;
      }
    },
    onBeforeSave: (listener) => {
      beforeSave.add(listener);
      return () => {
        beforeSave.delete(listener);
      };
    },
    onChange: (listener) => {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };

  function seedUsers(users: readonly SandboxUser[]): void {
    for (const user of users) {
      const stamp = formatDateTime(now());
      table('User').set(toId18(user.id)!, {
        Id: toId18(user.id),
        Username: user.username,
        Name: user.name,
        Email: user.email,
        IsActive: true,
        CreatedDate: stamp,
        LastModifiedDate: stamp,
        SystemModstamp: stamp,
        CreatedById: toId18(user.id),
        LastModifiedById: toId18(user.id),
      });
    }
  }
}
