import { randomUUID } from 'node:crypto';
import { badRequest, DataverseApiError, ERROR_CODES, notFound } from './errors.ts';
import { formatBatchResponse, parseBatch } from './multipart.ts';
import type { BatchRequestPart, BatchResponseItem, BatchResponsePart } from './multipart.ts';
import { evaluateFilter, filterProperties, FilterSyntaxError, parseFilter } from './odataFilter.ts';
import type { Organization, Row, WriteOptions } from './organization.ts';
import { columnTypeOf, KEY_COLUMN_TYPES } from './tables.ts';
import type { ColumnDefinition, KeyDefinition, TableDefinition } from './tables.ts';

/**
 * The OData v4 Web API of the sandbox (`/api/data/v9.2/…`), as a function from request to
 * response so that `$batch` runs its parts through exactly the same code as single requests.
 */

export interface ApiRequest {
  method: string;
  /** Path after the service root, e.g. `opportunities(…)`, with its query string. */
  target: string;
  headers: Record<string, string>;
  body: string;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

export interface WebApiContext {
  organization: Organization;
  /** `https://host:port/api/data/v9.2/` — the service root links are built on. */
  serviceRoot: string;
  organizationId: string;
  businessUnitId: string;
  defaultPageSize: number;
  changeTrackingRetentionMs: number;
  deletedEntityFormat: '4.0' | '4.01';
  scheduleKeyIndex(key: KeyDefinition, table: TableDefinition): void;
  /** Throws when a webhook URL is one Dataverse would refuse (ports other than 80 / 443, when enforced). */
  checkWebhookUrl(url: string): void;
  now(): number;
}

const MAX_BATCH_REQUESTS = 1000;
const json = (status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers: { 'Content-Type': 'application/json; odata.metadata=minimal', 'OData-Version': '4.0', ...headers },
  body: JSON.stringify(body),
});
const noContent = (headers: Record<string, string> = {}): ApiResponse => ({
  status: 204,
  headers: { 'OData-Version': '4.0', ...headers },
});

export function errorResponse(error: DataverseApiError): ApiResponse {
  return json(error.status, { error: { code: error.code, message: error.message } }, error.headers);
}

function parseJsonBody(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw badRequest('The request body is not valid JSON', ERROR_CODES.badPayload);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw badRequest('The request body must be a JSON object', ERROR_CODES.badPayload);
  return parsed as Record<string, unknown>;
}

/** Reads `Prefer` into its parts: return=representation, odata.maxpagesize, track-changes, annotations. */
function preferences(headers: Record<string, string>) {
  const prefer = (headers['prefer'] ?? '').split(',').map((p) => p.trim());
  const maxPage = prefer.map((p) => /^odata\.maxpagesize=(\d+)$/i.exec(p)).find(Boolean);
  const annotations = prefer.map((p) => /^odata\.include-annotations="?([^"]*)"?$/i.exec(p)).find(Boolean);
  return {
    representation: prefer.some((p) => /^return=representation$/i.test(p)),
    maxPageSize: maxPage ? Number(maxPage[1]) : undefined,
    trackChanges: prefer.some((p) => /^odata\.track-changes$/i.test(p)),
    annotations: annotations ? annotations[1] : undefined,
    continueOnError: prefer.some((p) => /^odata\.continue-on-error$/i.test(p)),
  };
}

/** Parses the inside of `entityset(…)`: a GUID, or `name='value',other=1` alternate-key values. */
function parseKeySegment(text: string): { id?: string; values?: Record<string, unknown> } {
  const trimmed = text.trim();
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(trimmed))
    return { id: trimmed.toLowerCase() };
  const values: Record<string, unknown> = {};
  let i = 0;
  while (i < trimmed.length) {
    const eq = trimmed.indexOf('=', i);
    if (eq < 0) throw badRequest(`The key segment (${text}) is neither a GUID nor name=value pairs`);
    const name = trimmed.slice(i, eq).trim();
    let j = eq + 1;
    let value: unknown;
    if (trimmed[j] === "'") {
      let out = '';
      j += 1;
      for (;;) {
        if (j >= trimmed.length) throw badRequest(`The key segment (${text}) has an unterminated string`);
        if (trimmed[j] === "'" && trimmed[j + 1] === "'") {
          out += "'";
          j += 2;
        } else if (trimmed[j] === "'") {
          j += 1;
          break;
        } else {
          out += trimmed[j];
          j += 1;
        }
      }
      value = out;
    } else {
      const end = trimmed.indexOf(',', j);
      const raw = trimmed.slice(j, end < 0 ? undefined : end).trim();
      j = end < 0 ? trimmed.length : end;
      value = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw.toLowerCase();
    }
    values[name] = value;
    while (j < trimmed.length && (trimmed[j] === ',' || trimmed[j] === ' ')) j += 1;
    i = j;
  }
  return { values };
}

function etagOf(row: Row): string {
  return `W/"${row.version}"`;
}

function formattedValue(column: ColumnDefinition | undefined, value: unknown): string | undefined {
  if (!column || value === null || value === undefined) return undefined;
  if (column.type === 'State' || column.type === 'Status' || column.type === 'Picklist') return String(value);
  if (column.type === 'Boolean') return value ? 'Yes' : 'No';
  if (column.type === 'Money' && typeof value === 'number') return `$${value.toFixed(2)}`;
  return undefined;
}

function serializeRow(
  def: TableDefinition,
  row: Row,
  select: string[] | undefined,
  annotations: string | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = { '@odata.etag': etagOf(row) };
  const names = select ?? Object.keys(row.data);
  for (const name of names) {
    const value = row.data[name] ?? null;
    // authvalue is write-only (contract §3).
    out[name] = def.logicalName === 'serviceendpoint' && name === 'authvalue' ? null : value;
    if (annotations) {
      const lookup = /^_(.+)_value$/.exec(name);
      if (lookup && value) {
        const column = def.columns.get(lookup[1]);
        out[`${name}@Microsoft.Dynamics.CRM.lookuplogicalname`] = column?.targets?.[0] ?? 'unknown';
      }
      const formatted = formattedValue(def.columns.get(name), value);
      if (formatted !== undefined) out[`${name}@OData.Community.Display.V1.FormattedValue`] = formatted;
    }
  }
  out[def.primaryId] = row.id;
  return out;
}

function checkSelect(def: TableDefinition, select: string[] | undefined): void {
  if (!def.strict || !select) return;
  for (const name of select) {
    const lookup = /^_(.+)_value$/.exec(name);
    const column = def.columns.get(lookup ? lookup[1] : name);
    if (!column || (lookup && column.type !== 'Lookup'))
      throw badRequest(
        `Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${def.logicalName}'.`,
        ERROR_CODES.invalidProperty,
      );
  }
}

/** Query options as Dataverse writes them in links: `$select=…&$deltatoken=…`, the `$` not escaped. */
function queryString(params: URLSearchParams): string {
  return [...params.entries()].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
}

const DELTA_TOKEN = /^(\d+)!(.+)$/;

function deltaToken(version: number, at: number): string {
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, '0');
  // Dataverse tokens look like `919042!08/22/2017 08:10:44`: a row version and a UTC time.
  return `${version}!${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function skipToken(offset: number, asOf: number): string {
  return `<cookie pagenumber="${offset}" pagingcookie="${asOf}" istracking="False" />`;
}

function readSkipToken(text: string): { offset: number; asOf: number } {
  const match = /pagenumber="(\d+)"\s+pagingcookie="(\d+)"/.exec(text);
  if (!match) throw badRequest('$skiptoken is not a paging cookie this service issued');
  return { offset: Number(match[1]), asOf: Number(match[2]) };
}

function sortRows(rows: Row[], orderby: string | null): Row[] {
  if (!orderby) return rows;
  const terms = orderby.split(',').map((t) => {
    const [name, dir] = t.trim().split(/\s+/);
    return { name, desc: dir?.toLowerCase() === 'desc' };
  });
  return [...rows].sort((a, b) => {
    for (const { name, desc } of terms) {
      const x = a.data[name] as string | number | null | undefined;
      const y = b.data[name] as string | number | null | undefined;
      if (x === y) continue;
      if (x === null || x === undefined) return desc ? 1 : -1;
      if (y === null || y === undefined) return desc ? -1 : 1;
      return (x < y ? -1 : 1) * (desc ? -1 : 1);
    }
    return 0;
  });
}

export function createWebApi(ctx: WebApiContext) {
  const org = ctx.organization;
  const entityUrl = (def: TableDefinition, id: string) => `${ctx.serviceRoot}${def.entitySet}(${id})`;

  function queryCollection(
    def: TableDefinition,
    query: URLSearchParams,
    headers: Record<string, string>,
  ): ApiResponse {
    const prefs = preferences(headers);
    const select = query
      .get('$select')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    checkSelect(def, select);
    const selectPart = select ? `(${select.join(',')})` : '';
    const responseHeaders: Record<string, string> = {};
    const applied: string[] = [];
    const pageSize = Math.min(prefs.maxPageSize ?? ctx.defaultPageSize, ctx.defaultPageSize);
    if (prefs.maxPageSize) applied.push(`odata.maxpagesize=${pageSize}`);
    if (prefs.annotations) applied.push(`odata.include-annotations="${prefs.annotations}"`);
    const deltaText = query.get('$deltatoken');
    const skip = query.get('$skiptoken') ? readSkipToken(query.get('$skiptoken')!) : undefined;

    if (prefs.trackChanges || deltaText !== null) {
      if (!def.changeTrackingEnabled)
        throw badRequest(
          `Change tracking is not enabled for the entity ${def.logicalName}.`,
          ERROR_CODES.changeTracking,
        );
      for (const option of ['$filter', '$orderby', '$expand', '$top'])
        if (query.has(option))
          throw badRequest(`${option} is not supported with change tracking.`, ERROR_CODES.changeTracking);
      const asOf = skip?.asOf ?? org.version;
      let items: Record<string, unknown>[];
      if (deltaText === null) {
        items = org
          .rows(def.logicalName)
          .filter((r) => r.version <= asOf || skip === undefined)
          .map((r) => serializeRow(def, r, select, prefs.annotations));
      } else {
        const match = DELTA_TOKEN.exec(deltaText);
        if (!match)
          throw badRequest('The $deltatoken is not a token this service issued.', ERROR_CODES.changeTracking);
        const since = Number(match[1]);
        const issued = Date.parse(`${match[2]} UTC`);
        if (!Number.isNaN(issued) && ctx.now() - issued > ctx.changeTrackingRetentionMs)
          throw badRequest(
            'The delta token has expired: change tracking data is kept only for ExpireChangeTrackingInDays. Start a new baseline.',
            ERROR_CODES.changeTracking,
          );
        // One entry per row: its latest state, or a deleted entity if the row is gone now.
        const latest = new Map<string, boolean>();
        for (const change of org.changesSince(def.logicalName, since, asOf))
          latest.set(change.id, change.deleted);
        items = [...latest.entries()].map(([id, deleted]) => {
          const row = org.row(def.logicalName, id);
          if (deleted || !row)
            return ctx.deletedEntityFormat === '4.01'
              ? { '@removed': { reason: 'deleted' }, '@id': entityUrl(def, id), [def.primaryId]: id }
              : {
                  '@odata.context': `${ctx.serviceRoot}$metadata#${def.entitySet}/$deletedEntity`,
                  id,
                  reason: 'deleted',
                };
          return serializeRow(def, row, select, prefs.annotations);
        });
      }
      applied.push('odata.track-changes');
      const offset = skip?.offset ?? 0;
      const page = items.slice(offset, offset + pageSize);
      const body: Record<string, unknown> = {
        '@odata.context': `${ctx.serviceRoot}$metadata#${def.entitySet}${selectPart}/$delta`,
        value: page,
      };
      const base = new URLSearchParams(query);
      base.delete('$skiptoken');
      if (offset + pageSize < items.length) {
        base.set('$skiptoken', skipToken(offset + pageSize, asOf));
        body['@odata.nextLink'] = `${ctx.serviceRoot}${def.entitySet}?${queryString(base)}`;
      } else {
        base.set('$deltatoken', deltaToken(asOf, ctx.now()));
        body['@odata.deltaLink'] = `${ctx.serviceRoot}${def.entitySet}?${queryString(base)}`;
      }
      responseHeaders['Preference-Applied'] = applied.join(',');
      return json(200, body, responseHeaders);
    }

    let rows = org.rows(def.logicalName);
    const filterText = query.get('$filter');
    if (filterText) {
      let filter;
      try {
        filter = parseFilter(filterText);
      } catch (error) {
        if (error instanceof FilterSyntaxError) throw badRequest(error.message);
        throw error;
      }
      checkSelect(def, filterProperties(filter));
      rows = rows.filter((row) => evaluateFilter(filter, { ...row.data, [def.primaryId]: row.id }));
    }
    rows = sortRows(rows, query.get('$orderby'));
    const top = query.get('$top');
    if (top !== null) {
      if (!/^\d+$/.test(top)) throw badRequest('$top must be a non-negative integer');
      rows = rows.slice(0, Number(top));
    }
    const offset = skip?.offset ?? 0;
    const page = rows.slice(offset, offset + pageSize);
    const body: Record<string, unknown> = {
      '@odata.context': `${ctx.serviceRoot}$metadata#${def.entitySet}${selectPart}`,
    };
    if (query.get('$count') === 'true') body['@odata.count'] = rows.length;
    body.value = page.map((r) => serializeRow(def, r, select, prefs.annotations));
    if (offset + pageSize < rows.length) {
      const next = new URLSearchParams(query);
      next.set('$skiptoken', skipToken(offset + pageSize, org.version));
      body['@odata.nextLink'] = `${ctx.serviceRoot}${def.entitySet}?${queryString(next)}`;
    }
    if (applied.length > 0) responseHeaders['Preference-Applied'] = applied.join(',');
    return json(200, body, responseHeaders);
  }

  function representation(
    def: TableDefinition,
    row: Row,
    status: number,
    query: URLSearchParams,
    prefs: ReturnType<typeof preferences>,
  ) {
    const select = query
      .get('$select')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    checkSelect(def, select);
    return json(
      status,
      {
        '@odata.context': `${ctx.serviceRoot}$metadata#${def.entitySet}/$entity`,
        ...serializeRow(def, row, select, prefs.annotations),
      },
      {
        ETag: etagOf(row),
        'OData-EntityId': entityUrl(def, row.id),
        'Preference-Applied': 'return=representation',
      },
    );
  }

  function entityRequest(
    def: TableDefinition,
    keyText: string,
    method: string,
    query: URLSearchParams,
    headers: Record<string, string>,
    body: string,
    options: WriteOptions,
  ): ApiResponse {
    const key = parseKeySegment(keyText);
    const existing = key.id ? org.row(def.logicalName, key.id) : org.findByKey(def, key.values!);
    const prefs = preferences(headers);
    const ifMatch = headers['if-match'];
    const ifNoneMatch = headers['if-none-match'];
    const describe = key.id ?? JSON.stringify(key.values);
    if (method === 'GET') {
      if (!existing) throw notFound(def.logicalName, describe);
      if (
        ifNoneMatch &&
        (ifNoneMatch === '*' ||
          ifNoneMatch
            .split(',')
            .map((s) => s.trim())
            .includes(etagOf(existing)))
      )
        return { status: 304, headers: { ETag: etagOf(existing), 'OData-Version': '4.0' } };
      const select = query
        .get('$select')
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      checkSelect(def, select);
      return json(
        200,
        {
          '@odata.context': `${ctx.serviceRoot}$metadata#${def.entitySet}${select ? `(${select.join(',')})` : ''}/$entity`,
          ...serializeRow(def, existing, select, prefs.annotations),
        },
        { ETag: etagOf(existing) },
      );
    }
    if (method === 'DELETE') {
      if (!existing) throw notFound(def.logicalName, describe);
      if (ifMatch && ifMatch !== '*' && ifMatch !== etagOf(existing))
        throw new DataverseApiError(
          412,
          ERROR_CODES.versionMismatch,
          "The version of the existing record doesn't match the RowVersion property provided.",
        );
      org.deleteRow(def.logicalName, existing.id, options);
      return noContent();
    }
    if (method === 'PATCH' || method === 'PUT') {
      const data = parseJsonBody(body);
      if (existing) {
        if (ifNoneMatch === '*')
          throw new DataverseApiError(
            412,
            ERROR_CODES.duplicateKey,
            'A record with matching key values already exists.',
          );
        if (ifMatch && ifMatch !== '*' && ifMatch !== etagOf(existing))
          throw new DataverseApiError(
            412,
            ERROR_CODES.versionMismatch,
            "The version of the existing record doesn't match the RowVersion property provided.",
          );
        const updated = org.updateRow(def.logicalName, existing.id, data, options);
        if (prefs.representation) return representation(def, updated, 200, query, prefs);
        return noContent({ 'OData-EntityId': entityUrl(def, updated.id) });
      }
      if (ifMatch) throw notFound(def.logicalName, describe);
      // A PATCH to a missing row is an upsert: the key (id or alternate key values) becomes part of it.
      const seed = key.id ? { [def.primaryId]: key.id } : { ...key.values };
      const created = org.createRow(def.logicalName, { ...seed, ...data }, options);
      if (prefs.representation) return representation(def, created, 201, query, prefs);
      return noContent({ 'OData-EntityId': entityUrl(def, created.id) });
    }
    throw new DataverseApiError(405, ERROR_CODES.badRequest, `${method} is not allowed on a single row`);
  }

  function addSolutionComponent(
    headers: Record<string, string>,
    objectId: string,
    componentType: number,
    options: WriteOptions,
  ) {
    const solutionName = headers['mscrm.solutionuniquename'];
    if (!solutionName) return;
    const solution = org
      .rows('solution')
      .find((s) => String(s.data.uniquename).toLowerCase() === solutionName.toLowerCase());
    if (!solution) throw badRequest(`The solution ${solutionName} (MSCRM.SolutionUniqueName) does not exist`);
    const exists = org
      .rows('solutioncomponent')
      .some((c) => c.data.objectid === objectId && c.data._solutionid_value === solution.id);
    if (!exists)
      org.createRow(
        'solutioncomponent',
        {
          objectid: objectId,
          componenttype: componentType,
          _solutionid_value: solution.id,
          rootcomponentbehavior: 0,
        },
        { ...options, system: true },
      );
  }

  function removeSolutionComponents(objectId: string, options: WriteOptions) {
    for (const c of org.rows('solutioncomponent'))
      if (c.data.objectid === objectId) org.deleteRow('solutioncomponent', c.id, options);
  }

  /** The prefix a new schema name must carry: the one of the solution's publisher. */
  function checkPrefix(schemaName: string, headers: Record<string, string>): void {
    const solutionName = headers['mscrm.solutionuniquename'];
    const prefixes = new Set<string>();
    if (solutionName) {
      const solution = org
        .rows('solution')
        .find((s) => String(s.data.uniquename).toLowerCase() === solutionName.toLowerCase());
      if (!solution)
        throw badRequest(`The solution ${solutionName} (MSCRM.SolutionUniqueName) does not exist`);
      const publisher = org.row('publisher', String(solution.data._publisherid_value));
      if (publisher) prefixes.add(String(publisher.data.customizationprefix).toLowerCase());
    } else {
      for (const p of org.rows('publisher')) prefixes.add(String(p.data.customizationprefix).toLowerCase());
    }
    const prefix = schemaName.split('_')[0].toLowerCase();
    if (!schemaName.includes('_') || !prefixes.has(prefix))
      throw badRequest(
        `The schema name ${schemaName} must start with the customization prefix of the publisher (${[...prefixes].join(', ')}) followed by _`,
        ERROR_CODES.badPayload,
      );
  }

  function attributeBody(def: TableDefinition, c: ColumnDefinition): Record<string, unknown> {
    const typeName = c.type === 'State' || c.type === 'Status' ? c.type : c.type;
    return {
      ...(c.definition ?? {}),
      '@odata.type': `#Microsoft.Dynamics.CRM.${typeName}AttributeMetadata`,
      MetadataId: c.metadataId,
      LogicalName: c.logicalName,
      SchemaName: c.schemaName,
      EntityLogicalName: def.logicalName,
      AttributeType: c.type,
      IsCustomAttribute: c.custom,
      ...(c.maxLength !== undefined ? { MaxLength: c.maxLength } : {}),
    };
  }

  function keyBody(def: TableDefinition, k: KeyDefinition): Record<string, unknown> {
    return {
      MetadataId: k.metadataId,
      LogicalName: k.logicalName,
      SchemaName: k.schemaName,
      EntityLogicalName: def.logicalName,
      KeyAttributes: k.keyAttributes,
      EntityKeyIndexStatus: k.status,
      DisplayName: k.displayName ?? null,
    };
  }

  function selectObject(obj: Record<string, unknown>, query: URLSearchParams): Record<string, unknown> {
    const select = query
      .get('$select')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (!select) return obj;
    return Object.fromEntries(['MetadataId', ...select].filter((n) => n in obj).map((n) => [n, obj[n]]));
  }

  function metadataCollection(
    items: Record<string, unknown>[],
    query: URLSearchParams,
    context: string,
  ): ApiResponse {
    let list = items;
    const filterText = query.get('$filter');
    if (filterText) {
      const filter = parseFilter(filterText);
      list = list.filter((item) => evaluateFilter(filter, item));
    }
    return json(200, {
      '@odata.context': `${ctx.serviceRoot}$metadata#${context}`,
      value: list.map((i) => selectObject(i, query)),
    });
  }

  function entityDefinitions(
    path: string,
    method: string,
    query: URLSearchParams,
    headers: Record<string, string>,
    body: string,
    options: WriteOptions,
  ): ApiResponse {
    const match =
      /^EntityDefinitions(?:\((?:LogicalName=)?'?([^')]+)'?\))?(?:\/(Attributes|Keys)(?:\((?:LogicalName=)?'?([^')]+)'?\))?)?$/i.exec(
        path,
      );
    if (!match) throw badRequest(`Resource not found for the segment '${path}'.`);
    // Segment names match without case, as the service's do (dynamics-web-api lowercases them).
    const [, entityRef, subName, subRef] = match;
    const sub = subName === undefined ? undefined : subName.toLowerCase() === 'keys' ? 'Keys' : 'Attributes';
    if (!entityRef) {
      if (method !== 'GET')
        throw new DataverseApiError(
          405,
          ERROR_CODES.badRequest,
          `${method} EntityDefinitions is not supported`,
        );
      return metadataCollection([...org.tables.values()].map(entityBody), query, 'EntityDefinitions');
    }
    const def = [...org.tables.values()].find(
      (t) => t.logicalName === entityRef.toLowerCase() || t.metadataId === entityRef.toLowerCase(),
    );
    if (!def)
      throw new DataverseApiError(
        404,
        ERROR_CODES.doesNotExist,
        `Could not find an entity with name ${entityRef}`,
      );
    if (!sub) {
      if (method === 'GET')
        return json(200, {
          '@odata.context': `${ctx.serviceRoot}$metadata#EntityDefinitions/$entity`,
          ...selectObject(entityBody(def), query),
        });
      if (method === 'PUT' || method === 'PATCH') {
        const data = parseJsonBody(body);
        const tracked = data.ChangeTrackingEnabled;
        if (tracked !== undefined) {
          if (typeof tracked !== 'boolean')
            throw badRequest('ChangeTrackingEnabled must be true or false', ERROR_CODES.badPayload);
          def.changeTrackingEnabled = tracked;
        }
        addSolutionComponent(headers, def.metadataId, 1, options);
        return noContent();
      }
      throw new DataverseApiError(
        405,
        ERROR_CODES.badRequest,
        `${method} is not supported on an entity definition`,
      );
    }
    if (sub === 'Attributes') {
      const columns = [...def.columns.values()];
      const find = () =>
        columns.find(
          (c) => c.logicalName === subRef?.toLowerCase() || c.metadataId === subRef?.toLowerCase(),
        );
      if (subRef) {
        const column = find();
        if (!column)
          throw new DataverseApiError(
            404,
            ERROR_CODES.doesNotExist,
            `Could not find an attribute ${subRef} on ${def.logicalName}`,
          );
        if (method === 'GET')
          return json(200, {
            '@odata.context': `${ctx.serviceRoot}$metadata#EntityDefinitions('${def.logicalName}')/Attributes/$entity`,
            ...selectObject(attributeBody(def, column), query),
          });
        if (method === 'DELETE') {
          if (!column.custom)
            throw badRequest(`The system attribute ${column.logicalName} cannot be deleted`);
          if ([...def.keys.values()].some((k) => k.keyAttributes.includes(column.logicalName)))
            throw badRequest(
              `The attribute ${column.logicalName} is part of an alternate key: delete the key first`,
            );
          def.columns.delete(column.logicalName);
          for (const row of org.rows(def.logicalName)) delete row.data[column.logicalName];
          removeSolutionComponents(column.metadataId, options);
          return noContent();
        }
        throw new DataverseApiError(
          405,
          ERROR_CODES.badRequest,
          `${method} is not supported on an attribute in this sandbox`,
        );
      }
      if (method === 'GET')
        return metadataCollection(
          columns.map((c) => attributeBody(def, c)),
          query,
          `EntityDefinitions('${def.logicalName}')/Attributes`,
        );
      if (method !== 'POST')
        throw new DataverseApiError(405, ERROR_CODES.badRequest, `${method} is not supported on Attributes`);
      const data = parseJsonBody(body);
      const type = columnTypeOf(data['@odata.type']);
      if (!type)
        throw badRequest(
          `@odata.type ${String(data['@odata.type'])} is not an attribute type this sandbox creates`,
          ERROR_CODES.badPayload,
        );
      const schemaName = data.SchemaName;
      if (typeof schemaName !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(schemaName))
        throw badRequest('SchemaName is required (letters, digits, _)', ERROR_CODES.badPayload);
      checkPrefix(schemaName, headers);
      const logicalName = schemaName.toLowerCase();
      if (def.columns.has(logicalName))
        throw badRequest(
          `An attribute with the name ${logicalName} already exists on ${def.logicalName}`,
          ERROR_CODES.metadataDuplicate,
        );
      const column: ColumnDefinition = {
        logicalName,
        schemaName,
        type,
        metadataId: randomUUID(),
        custom: true,
        definition: data,
      };
      if (type === 'String' || type === 'Memo') {
        const max = data.MaxLength ?? (type === 'String' ? 100 : 2000);
        if (
          typeof max !== 'number' ||
          !Number.isInteger(max) ||
          max < 1 ||
          max > (type === 'String' ? 4000 : 1048576)
        )
          throw badRequest(
            'MaxLength must be a positive integer within the type limit',
            ERROR_CODES.badPayload,
          );
        column.maxLength = max;
      }
      if (type === 'Picklist') {
        const options = (data.OptionSet as { Options?: Array<{ Value?: unknown }> } | undefined)?.Options;
        if (!Array.isArray(options) || options.length === 0)
          throw badRequest('A picklist needs OptionSet.Options', ERROR_CODES.badPayload);
        const values = options.map((o) => o.Value);
        if (!values.every((v) => typeof v === 'number' && Number.isInteger(v)))
          throw badRequest('Every option needs an integer Value', ERROR_CODES.badPayload);
        column.options = values as number[];
      }
      if (type === 'DateTime') {
        const format =
          (data.Format as string | undefined) ??
          (data.DateTimeBehavior as { Value?: string } | undefined)?.Value;
        column.dateOnly = format === 'DateOnly';
      }
      def.columns.set(logicalName, column);
      addSolutionComponent(headers, column.metadataId, 2, options);
      return noContent({
        'OData-EntityId': `${ctx.serviceRoot}EntityDefinitions(${def.metadataId})/Attributes(${column.metadataId})`,
      });
    }
    // Keys
    const keys = [...def.keys.values()];
    if (subRef) {
      const key = keys.find(
        (k) => k.logicalName === subRef.toLowerCase() || k.metadataId === subRef.toLowerCase(),
      );
      if (!key)
        throw new DataverseApiError(
          404,
          ERROR_CODES.doesNotExist,
          `Could not find a key ${subRef} on ${def.logicalName}`,
        );
      if (method === 'GET')
        return json(200, {
          '@odata.context': `${ctx.serviceRoot}$metadata#EntityDefinitions('${def.logicalName}')/Keys/$entity`,
          ...selectObject(keyBody(def, key), query),
        });
      if (method === 'DELETE') {
        def.keys.delete(key.logicalName);
        removeSolutionComponents(key.metadataId, options);
        return noContent();
      }
      throw new DataverseApiError(405, ERROR_CODES.badRequest, `${method} is not supported on a key`);
    }
    if (method === 'GET')
      return metadataCollection(
        keys.map((k) => keyBody(def, k)),
        query,
        `EntityDefinitions('${def.logicalName}')/Keys`,
      );
    if (method !== 'POST')
      throw new DataverseApiError(405, ERROR_CODES.badRequest, `${method} is not supported on Keys`);
    const data = parseJsonBody(body);
    const schemaName = data.SchemaName;
    if (typeof schemaName !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(schemaName))
      throw badRequest('SchemaName is required (letters, digits, _)', ERROR_CODES.badPayload);
    checkPrefix(schemaName, headers);
    const attributes = data.KeyAttributes;
    if (
      !Array.isArray(attributes) ||
      attributes.length === 0 ||
      attributes.length > 16 ||
      !attributes.every((a) => typeof a === 'string')
    )
      throw badRequest('KeyAttributes must list 1 to 16 column logical names', ERROR_CODES.badPayload);
    let bytes = 0;
    for (const name of attributes as string[]) {
      const column = def.columns.get(name.toLowerCase());
      if (!column)
        throw badRequest(
          `KeyAttributes names ${name}, which is not a column of ${def.logicalName}`,
          ERROR_CODES.invalidProperty,
        );
      if (!KEY_COLUMN_TYPES.has(column.type))
        throw badRequest(
          `${name} is a ${column.type} column, which an alternate key cannot include`,
          ERROR_CODES.badPayload,
        );
      bytes += column.type === 'String' ? (column.maxLength ?? 100) * 2 : 16;
    }
    if (bytes > 900)
      throw badRequest(
        `The key columns of ${schemaName} need ${bytes} bytes; an alternate key allows 900`,
        ERROR_CODES.badPayload,
      );
    const logicalName = schemaName.toLowerCase();
    if (def.keys.has(logicalName))
      throw badRequest(
        `A key named ${logicalName} already exists on ${def.logicalName}`,
        ERROR_CODES.metadataDuplicate,
      );
    const key: KeyDefinition = {
      logicalName,
      schemaName,
      keyAttributes: (attributes as string[]).map((a) => a.toLowerCase()),
      metadataId: randomUUID(),
      status: 'Pending',
      displayName: data.DisplayName,
    };
    def.keys.set(logicalName, key);
    addSolutionComponent(headers, key.metadataId, 14, options);
    ctx.scheduleKeyIndex(key, def);
    return noContent({
      'OData-EntityId': `${ctx.serviceRoot}EntityDefinitions(${def.metadataId})/Keys(${key.metadataId})`,
    });
  }

  function entityBody(def: TableDefinition): Record<string, unknown> {
    return {
      MetadataId: def.metadataId,
      LogicalName: def.logicalName,
      SchemaName: def.logicalName,
      EntitySetName: def.entitySet,
      PrimaryIdAttribute: def.primaryId,
      PrimaryNameAttribute: def.primaryName,
      ObjectTypeCode: def.objectTypeCode,
      ChangeTrackingEnabled: def.changeTrackingEnabled,
    };
  }

  function action(
    name: string,
    body: string,
    headers: Record<string, string>,
    options: WriteOptions,
  ): ApiResponse {
    const data = parseJsonBody(body);
    if (name === 'WinOpportunity' || name === 'LoseOpportunity') {
      const close = data.OpportunityClose;
      if (!close || typeof close !== 'object')
        throw badRequest(`${name} needs OpportunityClose`, ERROR_CODES.badPayload);
      if (typeof data.Status !== 'number')
        throw badRequest(`${name} needs an integer Status`, ERROR_CODES.badPayload);
      org.closeOpportunity(name === 'WinOpportunity', data.Status, close as Record<string, unknown>, options);
      return noContent();
    }
    if (name === 'AddSolutionComponent') {
      const { ComponentId, ComponentType, SolutionUniqueName } = data as Record<string, unknown>;
      if (
        typeof ComponentId !== 'string' ||
        typeof ComponentType !== 'number' ||
        typeof SolutionUniqueName !== 'string'
      )
        throw badRequest(
          'AddSolutionComponent needs ComponentId, ComponentType and SolutionUniqueName',
          ERROR_CODES.badPayload,
        );
      addSolutionComponent(
        { ...headers, 'mscrm.solutionuniquename': SolutionUniqueName },
        ComponentId.toLowerCase(),
        ComponentType,
        options,
      );
      const component = org
        .rows('solutioncomponent')
        .find((c) => c.data.objectid === ComponentId.toLowerCase());
      return json(200, {
        '@odata.context': `${ctx.serviceRoot}$metadata#Microsoft.Dynamics.CRM.AddSolutionComponentResponse`,
        id: component?.id,
      });
    }
    throw new DataverseApiError(404, ERROR_CODES.badRequest, `Resource not found for the segment '${name}'.`);
  }

  /** One request (not `$batch`); `target` is relative to the service root. */
  function execute(req: ApiRequest, options: WriteOptions): ApiResponse {
    const question = req.target.indexOf('?');
    const rawPath = question < 0 ? req.target : req.target.slice(0, question);
    const query = new URLSearchParams(question < 0 ? '' : req.target.slice(question + 1));
    let path: string;
    try {
      path = decodeURIComponent(rawPath).replace(/^\/+|\/+$/g, '');
    } catch {
      throw badRequest(`The URL path ${rawPath} is not valid percent-encoding`);
    }
    const method = req.method.toUpperCase();
    const headers = req.headers;
    const name = path.replace(/^Microsoft\.Dynamics\.CRM\./, '');
    if (name === 'WhoAmI' || name === 'WhoAmI()') {
      return json(200, {
        '@odata.context': `${ctx.serviceRoot}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
        BusinessUnitId: ctx.businessUnitId,
        UserId: options.userId,
        OrganizationId: ctx.organizationId,
      });
    }
    if (['WinOpportunity', 'LoseOpportunity', 'AddSolutionComponent'].includes(name)) {
      if (method !== 'POST')
        throw new DataverseApiError(405, ERROR_CODES.badRequest, `${name} is an action: POST it`);
      return action(name, req.body, headers, options);
    }
    if (/^EntityDefinitions/i.test(path))
      return entityDefinitions(path, method, query, headers, req.body, options);
    const match = /^([A-Za-z_]+)(?:\((.*)\))?$/s.exec(path);
    const def = match ? org.bySet(match[1]) : undefined;
    if (!match || !def)
      throw new DataverseApiError(
        404,
        ERROR_CODES.badRequest,
        `Resource not found for the segment '${path}'.`,
      );
    if (match[2] !== undefined) {
      const response = entityRequest(def, match[2], method, query, headers, req.body, options);
      afterWrite(def, method, response, headers, options);
      return response;
    }
    if (method === 'GET') return queryCollection(def, query, headers);
    if (method === 'POST') {
      const prefs = preferences(headers);
      const data = parseJsonBody(req.body);
      if (def.logicalName === 'serviceendpoint') checkEndpoint(data);
      const row = org.createRow(def.logicalName, data, options);
      const response = prefs.representation
        ? representation(def, row, 201, query, prefs)
        : noContent({ 'OData-EntityId': entityUrl(def, row.id) });
      afterWrite(def, method, response, headers, options, row.id);
      return response;
    }
    throw new DataverseApiError(
      405,
      ERROR_CODES.badRequest,
      `${method} is not allowed on the collection ${def.entitySet}`,
    );
  }

  function checkEndpoint(data: Record<string, unknown>): void {
    if (data.contract === 8) {
      if (typeof data.url !== 'string' || !/^https?:\/\//.test(data.url))
        throw badRequest('A webhook service endpoint needs an absolute url', ERROR_CODES.badPayload);
      ctx.checkWebhookUrl(data.url);
      if (![4, 5, 6].includes(data.authtype as number))
        throw badRequest(
          'authtype must be 4 (WebhookKey), 5 (HttpHeader) or 6 (HttpQueryString)',
          ERROR_CODES.badPayload,
        );
      if (typeof data.authvalue !== 'string' || data.authvalue.length === 0 || data.authvalue.length > 2048)
        throw badRequest('authvalue is required and at most 2048 characters', ERROR_CODES.badPayload);
    }
  }

  /** Solution membership for endpoints and steps created with MSCRM.SolutionUniqueName, and cleanup on delete. */
  function afterWrite(
    def: TableDefinition,
    method: string,
    response: ApiResponse,
    headers: Record<string, string>,
    options: WriteOptions,
    createdId?: string,
  ) {
    const componentTypes: Record<string, number> = { serviceendpoint: 95, sdkmessageprocessingstep: 92 };
    const type = componentTypes[def.logicalName];
    if (!type) return;
    const id = createdId ?? /\(([^)]+)\)$/.exec(response.headers['OData-EntityId'] ?? '')?.[1];
    if (method === 'DELETE') return;
    if (id && (method === 'POST' || response.status === 201 || createdId))
      addSolutionComponent(headers, id, type, options);
  }

  function batch(
    body: string,
    contentType: string | undefined,
    headers: Record<string, string>,
    options: WriteOptions,
    onCommit: () => void,
  ): ApiResponse {
    let items;
    try {
      items = parseBatch(body, contentType);
    } catch (error) {
      throw badRequest(error instanceof Error ? error.message : String(error));
    }
    const count = items.reduce((n, item) => n + (item.kind === 'request' ? 1 : item.requests.length), 0);
    if (count > MAX_BATCH_REQUESTS)
      throw badRequest(`The batch has ${count} requests; at most ${MAX_BATCH_REQUESTS} are allowed`);
    const continueOnError = preferences(headers).continueOnError;
    const out: BatchResponseItem[] = [];
    const toTarget = (part: BatchRequestPart, contentIds: Map<string, string>): string => {
      let target = part.target;
      const ref = /^\$(\w+)(.*)$/.exec(target);
      if (ref) {
        const resolved = contentIds.get(ref[1]);
        if (!resolved)
          throw badRequest(
            `Content-ID reference $${ref[1]} does not name an earlier request of this changeset`,
          );
        target = resolved + ref[2];
      }
      return target.replace(/^https?:\/\/[^/]+/, '').replace(/^\/?api\/data\/v9\.\d\//, '');
    };
    const run = (part: BatchRequestPart, contentIds: Map<string, string>): BatchResponsePart => {
      const response = execute(
        {
          method: part.method,
          target: toTarget(part, contentIds),
          headers: {
            ...headers,
            ...part.headers,
            'content-type': part.headers['content-type'] ?? 'application/json',
          },
          body: part.body,
        },
        { ...options, contentIds },
      );
      return {
        status: response.status,
        headers: response.headers,
        body: response.body,
        contentId: part.contentId,
      };
    };
    const failure = (error: unknown, contentId?: string): BatchResponsePart => {
      if (!(error instanceof DataverseApiError)) throw error;
      const r = errorResponse(error);
      return { status: r.status, headers: r.headers, body: r.body, contentId };
    };
    for (const item of items) {
      if (item.kind === 'request') {
        if (
          item.request.method !== 'GET' &&
          item.request.method !== 'POST' &&
          item.request.method !== 'PATCH' &&
          item.request.method !== 'DELETE' &&
          item.request.method !== 'PUT'
        )
          throw badRequest(`${item.request.method} is not a method a batch part may use`);
        let response: BatchResponsePart;
        try {
          response = run(item.request, new Map());
          onCommit();
        } catch (error) {
          response = failure(error, item.request.contentId);
        }
        out.push({ kind: 'response', response });
        if (response.status >= 400 && !continueOnError) break;
        continue;
      }
      if (item.requests.some((r) => r.method === 'GET'))
        throw badRequest('A changeset cannot contain GET requests');
      const transaction = org.transaction();
      const contentIds = new Map<string, string>();
      const responses: BatchResponsePart[] = [];
      let failed: BatchResponsePart | undefined;
      for (const part of item.requests) {
        try {
          const response = run(part, contentIds);
          const location = response.headers['OData-EntityId'];
          if (part.contentId && location)
            contentIds.set(
              part.contentId,
              location.replace(/^https?:\/\/[^/]+/, '').replace(/^\/?api\/data\/v9\.\d\//, ''),
            );
          responses.push(response);
        } catch (error) {
          if (!(error instanceof DataverseApiError)) {
            transaction.rollback();
            throw error;
          }
          failed = failure(error, part.contentId);
          break;
        }
      }
      if (failed) {
        // All or nothing: the changeset's writes and their webhook events are undone.
        transaction.rollback();
        out.push({ kind: 'response', response: failed });
        if (!continueOnError) break;
        continue;
      }
      transaction.commit();
      onCommit();
      out.push({ kind: 'changeset', responses });
    }
    const boundary = `batchresponse_${randomUUID()}`;
    return {
      status: 200,
      headers: { 'Content-Type': `multipart/mixed; boundary=${boundary}`, 'OData-Version': '4.0' },
      body: formatBatchResponse(out, boundary, randomUUID),
    };
  }

  return { execute, batch };
}

export type WebApi = ReturnType<typeof createWebApi>;
