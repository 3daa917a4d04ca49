import type { FieldDefinition, SchemaRegistry } from './schema.ts';
import { toId18 } from './ids.ts';

/**
 * The SOQL subset the relay and admin tools use: SELECT field paths (parent fields such as
 * Account.Name included), COUNT() or COUNT(field), FROM one object, WHERE with = != <> < <= > >=
 * LIKE IN NOT IN, AND/OR/NOT and parentheses, date values and the day-based date literals (TODAY,
 * YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n, N_DAYS_AGO:n, LAST_90_DAYS, NEXT_90_DAYS),
 * ORDER BY, LIMIT and OFFSET. Errors carry Salesforce's codes and its "ERROR at Row:r:Column:c"
 * message shape. Date literals count days in UTC (the sandbox org's and users' time zone).
 */

export type SoqlErrorCode =
  'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE' | 'INVALID_QUERY_FILTER_OPERATOR';

export class SoqlError extends Error {
  readonly errorCode: SoqlErrorCode;
  constructor(errorCode: SoqlErrorCode, message: string) {
    super(message);
    this.name = 'SoqlError';
    this.errorCode = errorCode;
  }
}

/** A date literal: a range of whole days relative to today. */
interface DayRange {
  relative: string;
  n: number;
}

type Literal = string | number | boolean | null | { date: string } | DayRange;

const isDayRange = (value: Literal): value is DayRange =>
  typeof value === 'object' && value !== null && 'relative' in value;

interface Token {
  kind: 'word' | 'string' | 'number' | 'date' | 'symbol' | 'end';
  text: string;
  value?: Literal;
  offset: number;
}

interface FieldRef {
  path: string[];
  offset: number;
}

type Condition =
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; inner: Condition }
  | { kind: 'compare'; field: FieldRef; op: string; value: Literal }
  | { kind: 'in'; field: FieldRef; negated: boolean; values: Literal[] };

export interface ParsedQuery {
  fields: FieldRef[];
  /** SELECT COUNT() (no field) or COUNT(field). */
  count?: { field?: FieldRef };
  from: string;
  fromOffset: number;
  where?: Condition;
  orderBy: Array<{ field: FieldRef; descending: boolean; nullsLast: boolean }>;
  limit?: number;
  offset?: number;
}

const KEYWORDS = new Set([
  'SELECT',
  'FROM',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'ORDER',
  'BY',
  'ASC',
  'DESC',
  'NULLS',
  'FIRST',
  'LAST',
  'LIMIT',
  'OFFSET',
  'NULL',
  'TRUE',
  'FALSE',
]);
const STRING_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
  '"': '"',
  "'": "'",
  '\\': '\\',
  _: '\\_',
  '%': '\\%',
};

function position(soql: string, offset: number): string {
  const before = soql.slice(0, offset);
  const row = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  const line = soql.split('\n')[row - 1] ?? '';
  return `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n`;
}

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < soql.length) {
    const c = soql.charAt(i);
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    const start = i;
    if (c === "'") {
      let value = '';
      i += 1;
      for (;;) {
        if (i >= soql.length)
          throw new SoqlError(
            'MALFORMED_QUERY',
            `${position(soql, start)}line 1:${start} mismatched character '<EOF>' expecting '''`,
          );
        const ch = soql.charAt(i);
        if (ch === '\\') {
          const escaped = STRING_ESCAPES[soql.charAt(i + 1)];
          if (escaped === undefined)
            throw new SoqlError(
              'MALFORMED_QUERY',
              `${position(soql, i)}Invalid string literal: illegal escape sequence`,
            );
          value += escaped;
          i += 2;
        } else if (ch === "'") {
          i += 1;
          break;
        } else {
          value += ch;
          i += 1;
        }
      }
      tokens.push({ kind: 'string', text: soql.slice(start, i), value, offset: start });
      continue;
    }
    const date = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))?/.exec(
      soql.slice(i),
    );
    if (date) {
      i += date[0].length;
      tokens.push({ kind: 'date', text: date[0], value: { date: date[0] }, offset: start });
      continue;
    }
    const relative =
      /^(LAST_N_DAYS|NEXT_N_DAYS|N_DAYS_AGO):(\d+)\b/i.exec(soql.slice(i)) ??
      /^(TODAY|YESTERDAY|TOMORROW|LAST_90_DAYS|NEXT_90_DAYS)\b/i.exec(soql.slice(i));
    if (relative) {
      i += relative[0].length;
      const name = relative[1].toUpperCase();
      const value: DayRange = name.endsWith('_90_DAYS')
        ? { relative: name.replace('90', 'N'), n: 90 }
        : { relative: name, n: relative[2] === undefined ? 0 : Number(relative[2]) };
      tokens.push({ kind: 'date', text: relative[0], value, offset: start });
      continue;
    }
    const number = /^-?\d+(?:\.\d+)?/.exec(soql.slice(i));
    if (number) {
      i += number[0].length;
      tokens.push({ kind: 'number', text: number[0], value: Number(number[0]), offset: start });
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(soql.slice(i));
    if (word) {
      i += word[0].length;
      tokens.push({ kind: 'word', text: word[0], offset: start });
      continue;
    }
    const symbol = /^(?:!=|<>|<=|>=|[=<>(),])/.exec(soql.slice(i));
    if (symbol) {
      i += symbol[0].length;
      tokens.push({ kind: 'symbol', text: symbol[0], offset: start });
      continue;
    }
    throw new SoqlError(
      'MALFORMED_QUERY',
      `${position(soql, start)}line 1:${start} no viable alternative at character '${c}'`,
    );
  }
  tokens.push({ kind: 'end', text: '<EOF>', offset: soql.length });
  return tokens;
}

/** Parses `soql` without checking names against a schema. Throws SoqlError(MALFORMED_QUERY). */
export function parseSoql(soql: string): ParsedQuery {
  const tokens = tokenize(soql);
  let index = 0;
  const peek = (): Token => tokens[index];
  const isKeyword = (token: Token, keyword: string): boolean =>
    token.kind === 'word' && token.text.toUpperCase() === keyword;
  const unexpected = (token: Token): never => {
    throw new SoqlError(
      'MALFORMED_QUERY',
      `${position(soql, token.offset)}unexpected token: '${token.text}'`,
    );
  };
  const expectKeyword = (keyword: string): Token => {
    const token = peek();
    if (!isKeyword(token, keyword)) unexpected(token);
    index += 1;
    return token;
  };
  const acceptKeyword = (keyword: string): boolean => {
    if (isKeyword(peek(), keyword)) {
      index += 1;
      return true;
    }
    return false;
  };
  const acceptSymbol = (symbol: string): boolean => {
    const token = peek();
    if (token.kind === 'symbol' && token.text === symbol) {
      index += 1;
      return true;
    }
    return false;
  };
  const fieldRef = (): FieldRef => {
    const token = peek();
    if (token.kind !== 'word' || KEYWORDS.has(token.text.toUpperCase())) unexpected(token);
    index += 1;
    return { path: token.text.split('.'), offset: token.offset };
  };
  const literal = (): Literal => {
    const token = peek();
    index += 1;
    if (token.kind === 'string' || token.kind === 'number' || token.kind === 'date') return token.value!;
    if (isKeyword(token, 'NULL')) return null;
    if (isKeyword(token, 'TRUE')) return true;
    if (isKeyword(token, 'FALSE')) return false;
    return unexpected(token);
  };
  const predicate = (): Condition => {
    if (acceptSymbol('(')) {
      const inner = orCondition();
      if (!acceptSymbol(')')) unexpected(peek());
      return inner;
    }
    if (acceptKeyword('NOT')) return { kind: 'not', inner: predicate() };
    const field = fieldRef();
    const token = peek();
    const negatedIn = isKeyword(token, 'NOT') && isKeyword(tokens[index + 1], 'IN');
    if (isKeyword(token, 'IN') || negatedIn) {
      index += negatedIn ? 2 : 1;
      if (!acceptSymbol('(')) unexpected(peek());
      const values: Literal[] = [literal()];
      while (acceptSymbol(',')) values.push(literal());
      if (!acceptSymbol(')')) unexpected(peek());
      return { kind: 'in', field, negated: negatedIn, values };
    }
    if (isKeyword(token, 'LIKE')) {
      index += 1;
      const value = literal();
      if (typeof value !== 'string') unexpected(tokens[index - 1]);
      return { kind: 'compare', field, op: 'LIKE', value };
    }
    if (token.kind === 'symbol' && ['=', '!=', '<>', '<', '<=', '>', '>='].includes(token.text)) {
      index += 1;
      return { kind: 'compare', field, op: token.text === '<>' ? '!=' : token.text, value: literal() };
    }
    return unexpected(token);
  };
  // SOQL gives AND and OR the same precedence and rejects mixing them without parentheses.
  const andCondition = (): Condition => {
    let left = predicate();
    while (acceptKeyword('AND')) left = { kind: 'and', left, right: predicate() };
    if (isKeyword(peek(), 'OR') && left.kind === 'and') unexpected(peek());
    return left;
  };
  const orCondition = (): Condition => {
    let left = andCondition();
    while (acceptKeyword('OR')) {
      const right = predicate();
      left = { kind: 'or', left, right };
      if (isKeyword(peek(), 'AND')) unexpected(peek());
    }
    return left;
  };
  const integer = (): number => {
    const token = peek();
    if (token.kind !== 'number' || !Number.isInteger(token.value) || (token.value as number) < 0)
      unexpected(token);
    index += 1;
    return token.value as number;
  };

  expectKeyword('SELECT');
  const fields: FieldRef[] = [];
  let count: ParsedQuery['count'];
  const next = tokens[index + 1];
  if (isKeyword(peek(), 'COUNT') && next.kind === 'symbol' && next.text === '(') {
    index += 2;
    if (acceptSymbol(')')) count = {};
    else {
      count = { field: fieldRef() };
      if (!acceptSymbol(')')) unexpected(peek());
    }
  } else {
    fields.push(fieldRef());
    while (acceptSymbol(',')) fields.push(fieldRef());
  }
  expectKeyword('FROM');
  const fromToken = peek();
  if (fromToken.kind !== 'word' || fromToken.text.includes('.')) unexpected(fromToken);
  index += 1;
  const query: ParsedQuery = {
    fields,
    ...(count ? { count } : {}),
    from: fromToken.text,
    fromOffset: fromToken.offset,
    orderBy: [],
  };
  if (acceptKeyword('WHERE')) query.where = orCondition();
  if (acceptKeyword('ORDER')) {
    expectKeyword('BY');
    do {
      const field = fieldRef();
      const descending = acceptKeyword('DESC') ? true : (acceptKeyword('ASC'), false);
      let nullsLast = descending;
      if (acceptKeyword('NULLS')) {
        if (acceptKeyword('LAST')) nullsLast = true;
        else {
          expectKeyword('FIRST');
          nullsLast = false;
        }
      }
      query.orderBy.push({ field, descending, nullsLast });
    } while (acceptSymbol(','));
  }
  if (acceptKeyword('LIMIT')) query.limit = integer();
  if (acceptKeyword('OFFSET')) query.offset = integer();
  if (peek().kind !== 'end') unexpected(peek());
  return query;
}

// ---- evaluation -------------------------------------------------------------------------------

export type RecordLookup = (sobject: string, id: string) => Record<string, unknown> | undefined;

interface ResolvedPath {
  /** Reference fields walked before the last field, e.g. [AccountId] for Account.Name. */
  hops: FieldDefinition[];
  field: FieldDefinition;
  /** Canonical names for the output record, e.g. ['Account', 'Name']. */
  names: string[];
}

function resolvePath(schema: SchemaRegistry, soql: string, sobject: string, ref: FieldRef): ResolvedPath {
  const hops: FieldDefinition[] = [];
  const names: string[] = [];
  let current = sobject;
  // A path may start with the queried object's own name (SELECT Opportunity.Name FROM Opportunity).
  const path =
    ref.path.length > 1 && ref.path[0].toLowerCase() === sobject.toLowerCase() ? ref.path.slice(1) : ref.path;
  for (const [i, segment] of path.entries()) {
    if (i === path.length - 1) {
      const field = schema.field(current, segment);
      if (!field) {
        throw new SoqlError(
          'INVALID_FIELD',
          `${position(soql, ref.offset)}No such column '${segment}' on entity '${current}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
        );
      }
      names.push(field.name);
      return { hops, field, names };
    }
    const reference = schema.relationship(current, segment);
    if (!reference || !reference.referenceTo) {
      throw new SoqlError(
        'INVALID_FIELD',
        `${position(soql, ref.offset)}Didn't understand relationship '${segment}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    hops.push(reference);
    names.push(reference.relationshipName!);
    current = reference.referenceTo;
  }
  throw new SoqlError(
    'MALFORMED_QUERY',
    `${position(soql, ref.offset)}unexpected token: '${ref.path.join('.')}'`,
  );
}

function readPath(record: Record<string, unknown>, path: ResolvedPath, lookup: RecordLookup): unknown {
  let current: Record<string, unknown> | undefined = record;
  for (const hop of path.hops) {
    const id: unknown = current[hop.name];
    current = typeof id === 'string' ? lookup(hop.referenceTo!, id) : undefined;
    if (!current) return null;
  }
  return current[path.field.name] ?? null;
}

const TEXT_TYPES = new Set(['string', 'textarea', 'url', 'email', 'phone', 'picklist']);
const NUMBER_TYPES = new Set(['currency', 'double', 'percent']);

function checkLiteral(soql: string, ref: FieldRef, field: FieldDefinition, value: Literal): void {
  if (value === null) return;
  const wrong = (expected: string): never => {
    throw new SoqlError(
      'INVALID_QUERY_FILTER_OPERATOR',
      `${position(soql, ref.offset)}value of filter criterion for field '${field.name}' must be of type ${expected} and should not be enclosed in quotes`,
    );
  };
  if (isDayRange(value) && field.type !== 'date' && field.type !== 'datetime') wrong(field.type);
  if (field.type === 'boolean' && typeof value !== 'boolean') wrong('boolean');
  if (NUMBER_TYPES.has(field.type) && typeof value !== 'number') wrong('double');
  if ((field.type === 'date' || field.type === 'datetime') && (typeof value !== 'object' || value === null))
    wrong(field.type);
}

function normalize(field: FieldDefinition, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'object' && 'date' in (value as object)) return (value as { date: string }).date;
  if (field.type === 'id' || field.type === 'reference') return toId18(value) ?? String(value);
  // Text comparisons in SOQL are case-insensitive.
  if (
    typeof value === 'string' &&
    (TEXT_TYPES.has(field.type) || field.type === 'date' || field.type === 'datetime')
  )
    return value.toLowerCase();
  return value;
}

function likeToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern.charAt(i);
    if (c === '\\' && (pattern.charAt(i + 1) === '%' || pattern.charAt(i + 1) === '_')) {
      source += `\\${pattern.charAt(i + 1)}`;
      i += 1;
    } else if (c === '%') source += '.*';
    else if (c === '_') source += '.';
    else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'is');
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return String(a).localeCompare(String(b));
}

export interface QueryResult {
  sobject: string;
  records: Array<Record<string, unknown>>;
  /** SELECT COUNT(): the number of matching rows (records is empty). */
  count?: number;
}

const DAY_MS = 86_400_000;

/** The [start, end) epoch-ms range of a date literal, counted in UTC days from `now`. */
function dayRange(range: DayRange, now: number): [number, number] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  switch (range.relative) {
    case 'TODAY':
      return [today, today + DAY_MS];
    case 'YESTERDAY':
      return [today - DAY_MS, today];
    case 'TOMORROW':
      return [today + DAY_MS, today + 2 * DAY_MS];
    case 'LAST_N_DAYS':
      // "This range includes today": LAST_N_DAYS:1 is yesterday and today.
      return [today - range.n * DAY_MS, today + DAY_MS];
    case 'NEXT_N_DAYS':
      // Starts tomorrow and runs n days.
      return [today + DAY_MS, today + (range.n + 1) * DAY_MS];
    default:
      // N_DAYS_AGO:n is the one day n days before today.
      return [today - range.n * DAY_MS, today - (range.n - 1) * DAY_MS];
  }
}

function epochOf(field: FieldDefinition, value: unknown): number {
  const text = String(value);
  return Date.parse(field.type === 'date' && /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
}

/**
 * Runs `soql` over `records` of the FROM object, following parent references through `lookup`.
 * Output records carry `attributes` as the REST API returns them.
 */
export function executeSoql(
  soql: string,
  schema: SchemaRegistry,
  recordsOf: (sobject: string) => Iterable<Record<string, unknown>>,
  lookup: RecordLookup,
  apiVersion = '62.0',
  now: number = Date.now(),
): QueryResult {
  const query = parseSoql(soql);
  const object = schema.object(query.from);
  if (!object) {
    throw new SoqlError(
      'INVALID_TYPE',
      `${position(soql, query.fromOffset)}sObject type '${query.from}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
    );
  }
  const selected = query.fields.map((ref) => resolvePath(schema, soql, object.name, ref));
  const resolveCondition = (condition: Condition): ((record: Record<string, unknown>) => boolean) => {
    switch (condition.kind) {
      case 'and': {
        const left = resolveCondition(condition.left);
        const right = resolveCondition(condition.right);
        return (r) => left(r) && right(r);
      }
      case 'or': {
        const left = resolveCondition(condition.left);
        const right = resolveCondition(condition.right);
        return (r) => left(r) || right(r);
      }
      case 'not': {
        const inner = resolveCondition(condition.inner);
        return (r) => !inner(r);
      }
      case 'in': {
        const path = resolvePath(schema, soql, object.name, condition.field);
        for (const value of condition.values) checkLiteral(soql, condition.field, path.field, value);
        if (condition.values.some(isDayRange))
          throw new SoqlError(
            'MALFORMED_QUERY',
            `${position(soql, condition.field.offset)}date literals are not supported in IN by this sandbox`,
          );
        const wanted = new Set(condition.values.map((v) => normalize(path.field, v)));
        return (r) => wanted.has(normalize(path.field, readPath(r, path, lookup))) !== condition.negated;
      }
      case 'compare': {
        const path = resolvePath(schema, soql, object.name, condition.field);
        const { op } = condition;
        if (op !== 'LIKE') checkLiteral(soql, condition.field, path.field, condition.value);
        const literal = condition.value;
        if (isDayRange(literal)) {
          const [start, end] = dayRange(literal, now);
          return (r) => {
            const actual = readPath(r, path, lookup);
            if (actual === null) return op === '!=';
            const at = epochOf(path.field, actual);
            const inside = at >= start && at < end;
            if (op === '=') return inside;
            if (op === '!=') return !inside;
            if (op === '<') return at < start;
            if (op === '<=') return at < end;
            if (op === '>') return at >= end;
            return at >= start;
          };
        }
        const wanted = normalize(path.field, literal);
        if (op === 'LIKE') {
          const pattern = likeToRegExp(String(condition.value));
          return (r) => {
            const actual = readPath(r, path, lookup);
            return typeof actual === 'string' && pattern.test(actual);
          };
        }
        return (r) => {
          const actual = normalize(path.field, readPath(r, path, lookup));
          if (op === '=') return actual === wanted;
          if (op === '!=') return actual !== wanted;
          if (actual === null || wanted === null) return false;
          const order = compare(actual, wanted);
          return op === '<' ? order < 0 : op === '<=' ? order <= 0 : op === '>' ? order > 0 : order >= 0;
        };
      }
    }
  };
  const matches = query.where ? resolveCondition(query.where) : () => true;
  let rows = [...recordsOf(object.name)].filter(matches);
  if (query.orderBy.length > 0) {
    const keys = query.orderBy.map((o) => ({ ...o, path: resolvePath(schema, soql, object.name, o.field) }));
    rows = rows.sort((a, b) => {
      for (const key of keys) {
        const va = normalize(key.path.field, readPath(a, key.path, lookup));
        const vb = normalize(key.path.field, readPath(b, key.path, lookup));
        if (va === vb) continue;
        if (va === null) return key.nullsLast ? 1 : -1;
        if (vb === null) return key.nullsLast ? -1 : 1;
        const order = compare(va, vb);
        if (order !== 0) return key.descending ? -order : order;
      }
      return 0;
    });
  }
  const start = query.offset ?? 0;
  rows = rows.slice(start, query.limit === undefined ? undefined : start + query.limit);
  if (query.count) {
    if (!query.count.field) return { sobject: object.name, records: [], count: rows.length };
    const path = resolvePath(schema, soql, object.name, query.count.field);
    const counted = rows.filter((row) => readPath(row, path, lookup) !== null).length;
    return {
      sobject: object.name,
      records: [{ attributes: { type: 'AggregateResult' }, expr0: counted }],
    };
  }
  const records = rows.map((row) => projectRecord(object.name, row, selected, lookup, apiVersion));
  return { sobject: object.name, records };
}

function attributes(sobject: string, id: unknown, apiVersion: string): { type: string; url: string } {
  return { type: sobject, url: `/services/data/v${apiVersion}/sobjects/${sobject}/${String(id)}` };
}

function projectRecord(
  sobject: string,
  row: Record<string, unknown>,
  selected: ResolvedPath[],
  lookup: RecordLookup,
  apiVersion: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: attributes(sobject, row.Id, apiVersion) };
  for (const path of selected) {
    let target = out;
    let source: Record<string, unknown> | undefined = row;
    for (const [i, hop] of path.hops.entries()) {
      const name = path.names[i];
      const id: unknown = source?.[hop.name];
      source = typeof id === 'string' ? lookup(hop.referenceTo!, id) : undefined;
      if (!source) {
        // A missing parent is a null relationship, not an object of nulls.
        if (!(name in target)) target[name] = null;
        break;
      }
      const existing = target[name];
      if (existing === null || existing === undefined)
        target[name] = { attributes: attributes(hop.referenceTo!, source.Id, apiVersion) };
      target = target[name] as Record<string, unknown>;
    }
    if (source) target[path.field.name] = source[path.field.name] ?? null;
  }
  return out;
}
