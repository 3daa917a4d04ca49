/** The subset of RFC 6902 Partner Center accepts on PATCH: only `replace` and `add` (§1.2). */
export interface JsonPatchOp {
  op: 'replace' | 'add';
  path: string;
  value: unknown;
}

/** `details.dealValue` → `/details/dealValue`, escaping `~` and `/` inside keys (RFC 6901). */
export function toPointer(dottedPath: string): string {
  return dottedPath
    .split('.')
    .map((key) => '/' + key.replaceAll('~', '~0').replaceAll('/', '~1'))
    .join('');
}
