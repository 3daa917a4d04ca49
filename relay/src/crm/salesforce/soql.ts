/**
 * Building SOQL safely: every value goes through `soqlLiteral`, every name through `soqlName`, so a
 * referral id or a customer name can never change the shape of a query.
 */

const NAME = /^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$/;

/** A field or object name (parent paths such as Account.Name allowed); throws on anything else. */
export function soqlName(name: string): string {
  if (!NAME.test(name)) throw new Error(`Not a valid SOQL field name: ${JSON.stringify(name)}`);
  return name;
}

/** A quoted string literal with SOQL's backslash escapes. */
export function soqlString(value: string): string {
  return `'${value.replace(/[\\'"\n\r\t\b\f]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' })[c]!)}'`;
}

export function soqlLiteral(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return soqlString(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`Not a finite number: ${value}`);
    return String(value);
  }
  return value ? 'true' : 'false';
}

/** `field IN ('a', 'b')`. */
export function soqlIn(field: string, values: readonly string[]): string {
  if (values.length === 0) throw new Error('IN needs at least one value');
  return `${soqlName(field)} IN (${values.map(soqlString).join(', ')})`;
}

/**
 * Splits `keys` into IN lists of at most `maxKeys` values whose query stays within `maxLength`
 * characters once `render` wraps them (the REST API carries SOQL in a GET URL).
 */
export function chunkInList(
  keys: readonly string[],
  maxKeys: number,
  maxLength: number,
  render: (chunk: string[]) => string,
): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  const baseLength = render(['']).length;
  let length = baseLength;
  for (const key of keys) {
    const added = soqlString(key).length + 2;
    if (current.length > 0 && (current.length >= maxKeys || length + added > maxLength)) {
      chunks.push(current);
      current = [];
      length = baseLength;
    }
    current.push(key);
    length += added;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
