/**
 * The subset of OData the referrals list endpoint documents (contract §1.3): `$filter` with
 * comparisons joined by `and` (parentheses allowed), `$orderby` on createdDateTime/updatedDateTime.
 * Anything outside the subset is refused with a message naming it, rather than silently ignored:
 * a relay relying on an unsupported filter must find out in the sandbox, not in production.
 */

export class ODataQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ODataQueryError';
  }
}

type Comparison = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
const COMPARISONS = new Set<string>(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);

/** Filterable properties, by OData path, with how their values compare. */
const DATE_FIELDS = new Set(['createdDateTime', 'updatedDateTime']);
const STRING_FIELDS = new Set([
  'id',
  'engagementId',
  'externalReferenceId',
  'status',
  'substatus',
  'type',
  'direction',
  'qualification',
  'name',
  'customerProfile/address/country',
]);

export interface DatedRecord {
  [key: string]: unknown;
}

/** Reads a date property as 100-ns ticks, so 7-digit timestamps compare exactly. */
export type TicksOf = (record: DatedRecord, field: string) => bigint;

export type Predicate = (record: DatedRecord, ticksOf: TicksOf) => boolean;

const ISO_DATE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an ISO 8601 UTC timestamp with up to 7 fractional digits into 100-ns ticks since the epoch. */
export function parseTicks(value: string): bigint | undefined {
  const match = ISO_DATE.exec(value);
  if (!match) return undefined;
  const seconds = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(seconds)) return undefined;
  const fraction = BigInt((match[2] ?? '').padEnd(7, '0'));
  return BigInt(seconds) * 10_000n + fraction;
}

interface Token {
  kind: 'open' | 'close' | 'word' | 'string';
  text: string;
  at: number;
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '(' || ch === ')') {
      tokens.push({ kind: ch === '(' ? 'open' : 'close', text: ch, at: i });
      i++;
    } else if (ch === "'") {
      // OData escapes a quote inside a string literal by doubling it.
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= input.length)
          throw new ODataQueryError(`$filter: unterminated string literal at position ${i}`);
        if (input[j] === "'") {
          if (input[j + 1] === "'") {
            text += "'";
            j += 2;
            continue;
          }
          break;
        }
        text += input[j++];
      }
      tokens.push({ kind: 'string', text, at: i });
      i = j + 1;
    } else {
      let j = i;
      while (j < input.length && !/[\s()']/.test(input[j])) j++;
      tokens.push({ kind: 'word', text: input.slice(i, j), at: i });
      i = j;
    }
  }
  return tokens;
}

function compare(op: Comparison, left: bigint | string, right: bigint | string): boolean {
  switch (op) {
    case 'eq':
      return left === right;
    case 'ne':
      return left !== right;
    case 'gt':
      return left > right;
    case 'ge':
      return left >= right;
    case 'lt':
      return left < right;
    case 'le':
      return left <= right;
  }
}

function readPath(record: DatedRecord, path: string): unknown {
  let value: unknown = record;
  for (const part of path.split('/')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

export function parseFilter(input: string): Predicate {
  const tokens = tokenize(input);
  if (tokens.length === 0) throw new ODataQueryError('$filter is empty');
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const describe = (token: Token | undefined): string =>
    token ? `'${token.text}' at position ${token.at}` : 'end of input';

  const comparison = (): Predicate => {
    const fieldToken = tokens[position++];
    if (!fieldToken || fieldToken.kind !== 'word')
      throw new ODataQueryError(`$filter: expected a property name, found ${describe(fieldToken)}`);
    const field = fieldToken.text;
    const isDate = DATE_FIELDS.has(field);
    if (!isDate && !STRING_FIELDS.has(field))
      throw new ODataQueryError(`$filter: property '${field}' is not filterable`);
    const opToken = tokens[position++];
    const op = opToken?.text.toLowerCase();
    if (!opToken || opToken.kind !== 'word' || !op || !COMPARISONS.has(op)) {
      throw new ODataQueryError(
        `$filter: expected a comparison operator (eq, ne, gt, ge, lt, le) after '${field}', found ${describe(opToken)}`,
      );
    }
    const valueToken = tokens[position++];
    if (!valueToken || (valueToken.kind !== 'word' && valueToken.kind !== 'string')) {
      throw new ODataQueryError(
        `$filter: expected a value after '${field} ${op}', found ${describe(valueToken)}`,
      );
    }
    if (isDate) {
      const ticks = parseTicks(valueToken.text);
      if (ticks === undefined)
        throw new ODataQueryError(
          `$filter: '${valueToken.text}' is not a valid DateTimeOffset for '${field}'`,
        );
      return (record, ticksOf) => compare(op as Comparison, ticksOf(record, field), ticks);
    }
    if (valueToken.kind !== 'string') {
      if (valueToken.text === 'null' && (op === 'eq' || op === 'ne')) {
        return (record) => (readPath(record, field) == null) === (op === 'eq');
      }
      throw new ODataQueryError(
        `$filter: the value for '${field}' must be a quoted string, found ${describe(valueToken)}`,
      );
    }
    if (op !== 'eq' && op !== 'ne')
      throw new ODataQueryError(`$filter: operator '${op}' is not supported on '${field}'`);
    const expected = valueToken.text;
    return (record) => {
      const actual = readPath(record, field);
      return compare(op, typeof actual === 'string' ? actual : '\u0000absent', expected);
    };
  };

  const term = (): Predicate => {
    if (peek()?.kind === 'open') {
      position++;
      const inner = conjunction();
      const close = tokens[position++];
      if (close?.kind !== 'close')
        throw new ODataQueryError(`$filter: expected ')', found ${describe(close)}`);
      return inner;
    }
    return comparison();
  };

  const conjunction = (): Predicate => {
    const parts = [term()];
    for (;;) {
      const next = peek();
      if (next?.kind !== 'word') break;
      const word = next.text.toLowerCase();
      if (word === 'or' || word === 'not')
        throw new ODataQueryError(
          `$filter: operator '${next.text}' is not supported; join conditions with 'and'`,
        );
      if (word !== 'and') break;
      position++;
      parts.push(term());
    }
    return (record, ticksOf) => parts.every((part) => part(record, ticksOf));
  };

  const predicate = conjunction();
  if (position < tokens.length)
    throw new ODataQueryError(`$filter: unexpected ${describe(tokens[position])}`);
  return predicate;
}

export interface OrderBy {
  field: 'createdDateTime' | 'updatedDateTime';
  descending: boolean;
}

export function parseOrderBy(input: string): OrderBy {
  const parts = input.trim().split(/\s+/);
  const [field, direction = 'asc'] = parts;
  if (parts.length > 2 || (field !== 'createdDateTime' && field !== 'updatedDateTime')) {
    throw new ODataQueryError(
      `$orderby: only 'createdDateTime' or 'updatedDateTime' followed by asc or desc is supported, got '${input}'`,
    );
  }
  const dir = direction.toLowerCase();
  if (dir !== 'asc' && dir !== 'desc')
    throw new ODataQueryError(`$orderby: direction must be asc or desc, got '${direction}'`);
  return { field, descending: dir === 'desc' };
}
