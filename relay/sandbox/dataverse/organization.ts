import { randomUUID } from 'node:crypto';
import { badRequest, DataverseApiError, ERROR_CODES, notFound } from './errors.ts';
import { createTables, NAVIGATION_ALIASES } from './tables.ts';
import type { ColumnDefinition, TableDefinition } from './tables.ts';

/**
 * The rows of one Dataverse organization: tables, row versions (a weak ETag is `W/"<version>"`),
 * the change-tracking log, alternate keys, and the events a write raises for registered steps.
 * Writes go through `createRow` / `updateRow` / `deleteRow` whether they come from the Web API or
 * from a test acting as a seller, so both raise the same webhook events and change-log entries.
 */

export interface Row {
  id: string;
  table: string;
  version: number;
  data: Record<string, unknown>;
}

export interface ChangeEntry {
  version: number;
  table: string;
  id: string;
  deleted: boolean;
  at: number;
}

export interface RowEvent {
  message: 'Create' | 'Update' | 'Delete' | 'Win' | 'Lose';
  table: string;
  id: string;
  /** The attributes the write set (the webhook Target), as stored. */
  changed: Record<string, unknown>;
  userId: string;
  at: number;
  version: number;
}

interface State {
  rows: Map<string, Map<string, Row>>;
  version: number;
  changes: ChangeEntry[];
  events: RowEvent[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;
/** Characters that make GET / PATCH by alternate key fail (contract §1). */
export const FORBIDDEN_KEY_CHARACTERS = /[/<>*%&:\\?+]/;

export interface WriteOptions {
  userId: string;
  /** Binds to `$n` resolve through this map of Content-ID → entity path inside a changeset. */
  contentIds?: Map<string, string>;
  /** Dataverse's own writes (close messages, rollups) may set read-only columns. */
  system?: boolean;
}

export function createOrganization(baseCurrencyId = randomUUID()) {
  const tables = createTables(randomUUID);
  const state: State = { rows: new Map(), version: 10_000, changes: [], events: [] };
  /** Undo steps of the open changeset, newest last; undefined outside a changeset. */
  let journal: Array<() => void> | undefined;
  function putRow(logicalName: string, row: Row): void {
    const map = state.rows.get(logicalName)!;
    const previous = map.get(row.id);
    journal?.push(() => (previous ? map.set(row.id, previous) : map.delete(row.id)));
    map.set(row.id, row);
  }
  for (const table of tables.keys()) state.rows.set(table, new Map());

  const table = (logicalName: string): TableDefinition => {
    const found = tables.get(logicalName);
    if (!found) throw badRequest(`Resource not found for the segment '${logicalName}'.`);
    return found;
  };
  const bySet = (entitySet: string): TableDefinition | undefined =>
    [...tables.values()].find((t) => t.entitySet === entitySet.toLowerCase());

  function nextVersion(): number {
    state.version += 1;
    return state.version;
  }

  /** Parses `/accounts(<guid>)`, `accounts(<guid>)`, an absolute URL or `$n` into table and id. */
  function resolveReference(value: string, options: WriteOptions): { table: TableDefinition; id: string } {
    let path = value.trim();
    if (/^\$\w+$/.test(path)) {
      const resolved = options.contentIds?.get(path.slice(1));
      if (!resolved)
        throw badRequest(`Content-ID reference ${path} does not name an earlier request of this changeset`);
      path = resolved;
    }
    path = path
      .replace(/^https?:\/\/[^/]+/, '')
      .replace(/^\/?api\/data\/v9\.\d\//, '')
      .replace(/^\//, '');
    const match = /^([A-Za-z_]+)\(([^)]+)\)$/.exec(path);
    const target = match ? bySet(match[1]) : undefined;
    if (!match || !target || !GUID.test(match[2]))
      throw badRequest(
        `The @odata.bind value '${value}' is not a reference to a row (entityset(id))`,
        ERROR_CODES.badPayload,
      );
    return { table: target, id: match[2].toLowerCase() };
  }

  function checkValue(def: TableDefinition, column: ColumnDefinition, value: unknown): unknown {
    if (value === null) return null;
    const bad = (expected: string) =>
      badRequest(
        `Error identified in Payload provided by the user for Entity :'${def.entitySet}': the value of '${column.logicalName}' must be ${expected}`,
        ERROR_CODES.badPayload,
      );
    switch (column.type) {
      case 'String':
      case 'Memo':
        if (typeof value !== 'string') throw bad('a string');
        if (column.maxLength !== undefined && value.length > column.maxLength)
          throw badRequest(
            `A validation error occurred. The length of the '${column.logicalName}' attribute of the '${def.logicalName}' entity exceeded the maximum allowed length of '${column.maxLength}'.`,
            ERROR_CODES.maxLength,
          );
        return value;
      case 'Boolean':
        if (typeof value !== 'boolean') throw bad('true or false');
        return value;
      case 'Picklist':
      case 'State':
      case 'Status':
        if (typeof value !== 'number' || !Number.isInteger(value)) throw bad('an integer choice value');
        if (column.options && !column.options.includes(value))
          throw badRequest(
            `A validation error occurred. The value ${value} of '${column.logicalName}' on record of type '${def.logicalName}' is outside the valid range. Accepted Values: ${column.options.join(',')}`,
            ERROR_CODES.badPayload,
          );
        return value;
      case 'Integer':
        if (typeof value !== 'number' || !Number.isInteger(value)) throw bad('an integer');
        return value;
      case 'Decimal':
      case 'Money':
        if (typeof value !== 'number' || !Number.isFinite(value)) throw bad('a number');
        return value;
      case 'DateTime':
        if (typeof value !== 'string' || !ISO_DATE.test(value) || Number.isNaN(Date.parse(value)))
          throw bad('an ISO 8601 date');
        return column.dateOnly ? value.slice(0, 10) : new Date(value).toISOString().replace('.000Z', 'Z');
      case 'Uniqueidentifier':
        if (typeof value !== 'string' || !GUID.test(value)) throw bad('a GUID');
        return value.toLowerCase();
      case 'Lookup':
        throw badRequest(
          `'${column.logicalName}' is a lookup: set it with '${column.logicalName}@odata.bind'`,
          ERROR_CODES.invalidProperty,
        );
    }
  }

  /** Turns a request body into stored attributes, rejecting what Dataverse rejects. */
  function normalizeBody(def: TableDefinition, body: Record<string, unknown>, options: WriteOptions) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(body)) {
      if (
        key.startsWith('@odata.') ||
        key.includes('@OData.Community') ||
        key.includes('@Microsoft.Dynamics')
      )
        continue;
      const bind = /^(.+)@odata\.bind$/.exec(key);
      if (bind) {
        const nav = bind[1];
        const columnName = NAVIGATION_ALIASES[nav] ?? nav;
        const column = def.columns.get(columnName);
        if (def.strict && (!column || column.type !== 'Lookup'))
          throw badRequest(
            `An undeclared property '${nav}' which only has property annotations in the payload but no property value was found in the payload.`,
            ERROR_CODES.invalidProperty,
          );
        if (value === null) {
          out[`_${columnName}_value`] = null;
          continue;
        }
        if (typeof value !== 'string') throw badRequest(`${key} must be a string`, ERROR_CODES.badPayload);
        const ref = resolveReference(value, options);
        if (column?.targets && !column.targets.includes(ref.table.logicalName))
          throw badRequest(`${nav} cannot reference a ${ref.table.logicalName}`, ERROR_CODES.badPayload);
        if (!state.rows.get(ref.table.logicalName)!.has(ref.id))
          throw notFound(ref.table.logicalName, ref.id);
        out[`_${columnName}_value`] = ref.id;
        continue;
      }
      if (key === def.primaryId) {
        if (typeof value !== 'string' || !GUID.test(value))
          throw badRequest(`${key} must be a GUID`, ERROR_CODES.badPayload);
        out[key] = value.toLowerCase();
        continue;
      }
      if (!def.strict) {
        out[key] = value;
        continue;
      }
      const column = def.columns.get(key);
      if (!column)
        throw badRequest(
          `Invalid property '${key}' was found in entity 'Microsoft.Dynamics.CRM.${def.logicalName}'.`,
          ERROR_CODES.invalidProperty,
        );
      if (column.readOnly && !options.system) continue;
      out[key] = checkValue(def, column, value);
    }
    return out;
  }

  function keyMatches(def: TableDefinition, data: Record<string, unknown>, values: Record<string, unknown>) {
    return Object.entries(values).every(([name, wanted]) => {
      const column = def.columns.get(name);
      const stored = column?.type === 'Lookup' ? data[`_${name}_value`] : data[name];
      if (typeof stored === 'string' && typeof wanted === 'string')
        return stored.toLowerCase() === wanted.toLowerCase();
      return stored === wanted;
    });
  }

  /** Rejects a write that would give two rows the same value of an Active alternate key. */
  function enforceKeys(def: TableDefinition, id: string, data: Record<string, unknown>): void {
    for (const key of def.keys.values()) {
      if (key.status !== 'Active') continue;
      const values = Object.fromEntries(key.keyAttributes.map((name) => [name, data[name] ?? null]));
      if (Object.values(values).some((v) => v === null)) continue;
      for (const row of state.rows.get(def.logicalName)!.values()) {
        if (row.id !== id && keyMatches(def, row.data, values))
          throw new DataverseApiError(
            412,
            ERROR_CODES.duplicateKey,
            'A record with matching key values already exists.',
          );
      }
    }
  }

  function record(def: TableDefinition, id: string, deleted: boolean, version: number): void {
    state.changes.push({ version, table: def.logicalName, id, deleted, at: Date.now() });
  }

  function createRow(logicalName: string, body: Record<string, unknown>, options: WriteOptions): Row {
    const def = table(logicalName);
    const data = normalizeBody(def, body, options);
    const id = (data[def.primaryId] as string | undefined) ?? randomUUID();
    if (state.rows.get(logicalName)!.has(id))
      throw new DataverseApiError(412, ERROR_CODES.duplicateKey, 'Cannot insert duplicate key.');
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (def.strict) {
      if (def.logicalName === 'opportunity' && !options.system) {
        if (data.statecode !== undefined && data.statecode !== 0)
          throw new DataverseApiError(
            400,
            ERROR_CODES.stateChangeNotAllowed,
            'An opportunity is created open; close it with WinOpportunity or LoseOpportunity.',
          );
      }
      data.statecode ??= 0;
      data.statuscode ??= 1;
      if (data.estimatedvalue !== undefined && data._transactioncurrencyid_value === undefined)
        data._transactioncurrencyid_value = baseCurrencyId;
      if ('estimatedvalue' in data) data.estimatedvalue_base = data.estimatedvalue;
      if (def.columns.has('fullname') && (data.firstname !== undefined || data.lastname !== undefined))
        data.fullname = [data.firstname, data.lastname].filter(Boolean).join(' ');
      data._ownerid_value ??= options.userId;
      data._createdby_value = options.userId;
      data._modifiedby_value = options.userId;
    }
    data.createdon = now;
    data.modifiedon = now;
    data[def.primaryId] = id;
    enforceKeys(def, id, data);
    const version = nextVersion();
    data.versionnumber = version;
    const row: Row = { id, table: logicalName, version, data };
    putRow(logicalName, row);
    record(def, id, false, version);
    state.events.push({
      message: 'Create',
      table: logicalName,
      id,
      changed: { ...data },
      userId: options.userId,
      at: Date.now(),
      version,
    });
    return row;
  }

  function updateRow(
    logicalName: string,
    id: string,
    body: Record<string, unknown>,
    options: WriteOptions,
  ): Row {
    const def = table(logicalName);
    const row = state.rows.get(logicalName)!.get(id);
    if (!row) throw notFound(logicalName, id);
    const changes = normalizeBody(def, body, options);
    delete changes[def.primaryId];
    if (def.logicalName === 'opportunity' && !options.system) {
      const closed = row.data.statecode !== 0;
      if (closed) {
        // Reopening (statecode back to 0) is the only write a won or lost opportunity accepts.
        if (changes.statecode !== 0)
          throw new DataverseApiError(
            400,
            ERROR_CODES.recordClosed,
            'This opportunity is closed (won or lost) and cannot be updated. Reopen it first.',
          );
        changes.statuscode ??= 2;
      } else if (changes.statecode !== undefined && changes.statecode !== 0) {
        throw new DataverseApiError(
          400,
          ERROR_CODES.stateChangeNotAllowed,
          'The opportunity cannot be closed by an update of statecode: use WinOpportunity or LoseOpportunity.',
        );
      }
    }
    const data = { ...row.data, ...changes };
    if ('estimatedvalue' in changes) {
      data.estimatedvalue_base = changes.estimatedvalue;
      if (data._transactioncurrencyid_value === undefined) data._transactioncurrencyid_value = baseCurrencyId;
    }
    if (def.columns.has('fullname') && ('firstname' in changes || 'lastname' in changes))
      data.fullname = [data.firstname, data.lastname].filter(Boolean).join(' ');
    data.modifiedon = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (def.strict) data._modifiedby_value = options.userId;
    enforceKeys(def, id, data);
    const version = nextVersion();
    data.versionnumber = version;
    const updated: Row = { id, table: logicalName, version, data };
    putRow(logicalName, updated);
    record(def, id, false, version);
    state.events.push({
      message: 'Update',
      table: logicalName,
      id,
      changed: changes,
      userId: options.userId,
      at: Date.now(),
      version,
    });
    return updated;
  }

  function deleteRow(logicalName: string, id: string, options: WriteOptions): void {
    const def = table(logicalName);
    const map = state.rows.get(logicalName)!;
    const previous = map.get(id);
    if (!previous) throw notFound(logicalName, id);
    map.delete(id);
    journal?.push(() => map.set(id, previous));
    const version = nextVersion();
    record(def, id, true, version);
    state.events.push({
      message: 'Delete',
      table: logicalName,
      id,
      changed: {},
      userId: options.userId,
      at: Date.now(),
      version,
    });
  }

  /** Closes an opportunity as WinOpportunity / LoseOpportunity do, with its opportunityclose activity. */
  function closeOpportunity(
    won: boolean,
    status: number,
    close: Record<string, unknown>,
    options: WriteOptions,
  ): Row {
    const bind = close['opportunityid@odata.bind'];
    if (typeof bind !== 'string')
      throw badRequest(
        "OpportunityClose must bind the opportunity with 'opportunityid@odata.bind'",
        ERROR_CODES.badPayload,
      );
    const ref = resolveReference(bind, options);
    if (ref.table.logicalName !== 'opportunity')
      throw badRequest('opportunityid@odata.bind must reference an opportunity');
    const row = state.rows.get('opportunity')!.get(ref.id);
    if (!row) throw notFound('opportunity', ref.id);
    const allowed = won ? [3] : [4, 5];
    if (!allowed.includes(status))
      throw badRequest(
        `Status ${status} is not a valid ${won ? 'won' : 'lost'} status reason of opportunity (allowed: ${allowed.join(', ')})`,
        ERROR_CODES.badPayload,
      );
    if (row.data.statecode !== 0)
      throw new DataverseApiError(400, ERROR_CODES.recordClosed, 'The opportunity is already closed.');
    const { 'opportunityid@odata.bind': _bound, ...activity } = close;
    createRow(
      'opportunityclose',
      { ...activity, _opportunityid_value: ref.id, won },
      { ...options, system: true },
    );
    const changes: Record<string, unknown> = {
      statecode: won ? 1 : 2,
      statuscode: status,
      actualclosedate:
        typeof close.actualend === 'string'
          ? close.actualend.slice(0, 10)
          : new Date().toISOString().slice(0, 10),
    };
    if (typeof close.actualrevenue === 'number') changes.actualvalue = close.actualrevenue;
    const updated = updateRow('opportunity', ref.id, changes, { ...options, system: true });
    // The close raises Win / Lose for steps on those messages, not Update.
    const last = state.events[state.events.length - 1];
    last.message = won ? 'Win' : 'Lose';
    return updated;
  }

  function findByKey(def: TableDefinition, values: Record<string, unknown>): Row | undefined {
    const names = Object.keys(values).sort();
    const key = [...def.keys.values()].find((k) => [...k.keyAttributes].sort().join(',') === names.join(','));
    if (!key)
      throw badRequest(
        `The key attribute(s) ${names.join(', ')} do not form an alternate key of ${def.logicalName}`,
        ERROR_CODES.keyNotUsable,
      );
    if (key.status !== 'Active')
      throw badRequest(
        `The alternate key ${key.logicalName} of ${def.logicalName} cannot be used: its index is ${key.status}`,
        ERROR_CODES.keyNotUsable,
      );
    for (const value of Object.values(values))
      if (typeof value === 'string' && FORBIDDEN_KEY_CHARACTERS.test(value))
        throw badRequest(
          `The alternate key value '${value}' contains a character Dataverse cannot address by key (/ < > * % & : \\ ? +)`,
          ERROR_CODES.keyNotUsable,
        );
    return [...state.rows.get(def.logicalName)!.values()].find((row) => keyMatches(def, row.data, values));
  }

  return {
    tables,
    baseCurrencyId,
    table,
    bySet,
    createRow,
    updateRow,
    deleteRow,
    closeOpportunity,
    findByKey,
    resolveReference,
    get version() {
      return state.version;
    },
    rows(logicalName: string): Row[] {
      return [...(state.rows.get(logicalName)?.values() ?? [])];
    },
    row(logicalName: string, id: string): Row | undefined {
      return state.rows.get(logicalName)?.get(id);
    },
    changesSince(logicalName: string, version: number, upTo: number): ChangeEntry[] {
      return state.changes.filter((c) => c.table === logicalName && c.version > version && c.version <= upTo);
    },
    /** Takes the events raised since the last call (after a request or changeset committed). */
    drainEvents(): RowEvent[] {
      const events = state.events;
      state.events = [];
      return events;
    },
    /**
     * Opens a changeset: `rollback` undoes every row write, version, change-log entry and event
     * since, so nothing of a failed changeset remains; `commit` keeps them. Rows are immutable
     * once stored (writes replace them), so undoing is putting the previous object back.
     */
    transaction(): { commit(): void; rollback(): void } {
      const version = state.version;
      const changes = state.changes.length;
      const events = state.events.length;
      const steps: Array<() => void> = [];
      journal = steps;
      return {
        commit() {
          journal = undefined;
        },
        rollback() {
          journal = undefined;
          for (const undo of steps.reverse()) undo();
          state.version = version;
          state.changes.length = changes;
          state.events.length = events;
        },
      };
    },
  };
}

export type Organization = ReturnType<typeof createOrganization>;
