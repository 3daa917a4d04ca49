/**
 * The `$filter` subset of OData v4 that Dataverse Web API clients send: comparisons (eq ne gt ge
 * lt le), `and` / `or` / `not`, parentheses, `null`, booleans, numbers, quoted strings ('' escapes
 * a quote), bare GUIDs and ISO dates, and the string functions contains / startswith / endswith.
 * Pure: parsing and evaluation have no I/O.
 */

export type FilterValue = string | number | boolean | null;

export type FilterNode =
  | { kind: 'compare'; op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'; property: string; value: FilterValue }
  | { kind: 'function'; name: 'contains' | 'startswith' | 'endswith'; property: string; value: string }
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode };

export class FilterSyntaxError extends Error {}

type Token =
  | { type: 'word'; text: string }
  | { type: 'string'; text: string }
  | { type: 'punct'; text: '(' | ')' | ',' };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;
const COMPARISONS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = new Set(['contains', 'startswith', 'endswith']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ type: 'punct', text: c });
      i += 1;
    } else if (c === "'") {
      let value = '';
      i += 1;
      for (;;) {
        if (i >= text.length) throw new FilterSyntaxError('$filter has an unterminated string literal');
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += text[i];
        i += 1;
      }
      tokens.push({ type: 'string', text: value });
    } else {
      let j = i;
      while (j < text.length && !/[\s(),']/.test(text[j])) j += 1;
      tokens.push({ type: 'word', text: text.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

function literal(token: Token | undefined): FilterValue {
  if (!token || token.type === 'punct')
    throw new FilterSyntaxError('$filter expects a value after an operator');
  if (token.type === 'string') return token.text;
  const word = token.text;
  if (word === 'null') return null;
  if (word === 'true') return true;
  if (word === 'false') return false;
  if (GUID.test(word)) return word.toLowerCase();
  if (ISO_DATE.test(word)) return word;
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdD]?$/.test(word)) return Number(word.replace(/[mMdD]$/, ''));
  throw new FilterSyntaxError(`$filter has a value it cannot read: ${word}`);
}

export function parseFilter(text: string): FilterNode {
  const tokens = tokenize(text);
  let pos = 0;
  const peekWord = (): string | undefined => {
    const t = tokens[pos];
    return t && t.type === 'word' ? t.text.toLowerCase() : undefined;
  };
  const expect = (punct: '(' | ')' | ','): void => {
    const t = tokens[pos];
    if (!t || t.type !== 'punct' || t.text !== punct)
      throw new FilterSyntaxError(`$filter expects '${punct}' at token ${pos + 1}`);
    pos += 1;
  };

  function primary(): FilterNode {
    const t = tokens[pos];
    if (!t) throw new FilterSyntaxError('$filter ends where an expression was expected');
    if (t.type === 'punct' && t.text === '(') {
      pos += 1;
      const inner = orExpr();
      expect(')');
      return inner;
    }
    if (t.type !== 'word') throw new FilterSyntaxError('$filter expects a property name or function');
    const lower = t.text.toLowerCase();
    if (lower === 'not') {
      pos += 1;
      return { kind: 'not', operand: primary() };
    }
    if (FUNCTIONS.has(lower) && tokens[pos + 1]?.type === 'punct' && tokens[pos + 1].text === '(') {
      pos += 2;
      const property = tokens[pos];
      if (!property || property.type !== 'word')
        throw new FilterSyntaxError(`${lower}() expects a property first`);
      pos += 1;
      expect(',');
      const value = literal(tokens[pos]);
      pos += 1;
      expect(')');
      if (typeof value !== 'string') throw new FilterSyntaxError(`${lower}() expects a string value`);
      return { kind: 'function', name: lower as 'contains', property: property.text, value };
    }
    pos += 1;
    const op = peekWord();
    if (!op || !COMPARISONS.has(op))
      throw new FilterSyntaxError(`$filter expects a comparison operator after ${t.text}`);
    pos += 1;
    const value = literal(tokens[pos]);
    pos += 1;
    return { kind: 'compare', op: op as 'eq', property: t.text, value };
  }
  function andExpr(): FilterNode {
    let left = primary();
    while (peekWord() === 'and') {
      pos += 1;
      left = { kind: 'and', left, right: primary() };
    }
    return left;
  }
  function orExpr(): FilterNode {
    let left = andExpr();
    while (peekWord() === 'or') {
      pos += 1;
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  }
  const node = orExpr();
  if (pos !== tokens.length) throw new FilterSyntaxError(`$filter has unexpected text at token ${pos + 1}`);
  return node;
}

/** Orders two stored values; dates compare as instants, strings case-insensitively as SQL Server collates. */
function compareValues(a: unknown, b: FilterValue): number | undefined {
  if (a === null || a === undefined || b === null) return undefined;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'string' && typeof b === 'string') {
    if (ISO_DATE.test(a) && ISO_DATE.test(b)) return Date.parse(a) - Date.parse(b);
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return undefined;
}

export function evaluateFilter(node: FilterNode, row: Record<string, unknown>): boolean {
  switch (node.kind) {
    case 'and':
      return evaluateFilter(node.left, row) && evaluateFilter(node.right, row);
    case 'or':
      return evaluateFilter(node.left, row) || evaluateFilter(node.right, row);
    case 'not':
      return !evaluateFilter(node.operand, row);
    case 'function': {
      const value = row[node.property];
      if (typeof value !== 'string') return false;
      const hay = value.toLowerCase();
      const needle = node.value.toLowerCase();
      if (node.name === 'contains') return hay.includes(needle);
      if (node.name === 'startswith') return hay.startsWith(needle);
      return hay.endsWith(needle);
    }
    case 'compare': {
      const value = row[node.property] ?? null;
      if (node.value === null) {
        if (node.op === 'eq') return value === null;
        if (node.op === 'ne') return value !== null;
        return false;
      }
      const order = compareValues(value, node.value);
      if (node.op === 'ne') return order !== 0;
      if (order === undefined) return false;
      switch (node.op) {
        case 'eq':
          return order === 0;
        case 'gt':
          return order > 0;
        case 'ge':
          return order >= 0;
        case 'lt':
          return order < 0;
        default:
          return order <= 0;
      }
    }
  }
}

/** Every property a filter reads, so the caller can reject unknown columns as Dataverse does. */
export function filterProperties(node: FilterNode): string[] {
  switch (node.kind) {
    case 'and':
    case 'or':
      return [...filterProperties(node.left), ...filterProperties(node.right)];
    case 'not':
      return filterProperties(node.operand);
    default:
      return [node.property];
  }
}
