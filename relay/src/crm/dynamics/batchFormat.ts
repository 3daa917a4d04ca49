/**
 * Builds a Dataverse `$batch` body (OData v4 multipart/mixed, contract §2) and reads its response.
 * Pure. Each changeset is atomic on the service; a request may carry a Content-ID that later
 * requests of the same changeset reference as `$<id>` (in the URL or in an `@odata.bind`).
 */

export interface BatchOperation {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to the Web API root (`opportunities(…)`) or a `$n` reference. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  contentId?: string;
}

export interface BatchPartResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  contentId?: string;
}

export function buildBatch(
  groups: Array<{ changeset: boolean; operations: BatchOperation[] }>,
  serviceRoot: string,
  nextId: () => string,
): { boundary: string; body: string } {
  const boundary = `batch_${nextId()}`;
  const lines: string[] = [];
  const request = (op: BatchOperation, contentId?: string) => {
    lines.push('Content-Type: application/http', 'Content-Transfer-Encoding: binary');
    if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
    lines.push('');
    const target = op.path.startsWith('$') ? op.path : `${serviceRoot}${op.path}`;
    lines.push(`${op.method} ${target} HTTP/1.1`);
    lines.push(
      op.method === 'GET' ? 'Accept: application/json' : 'Content-Type: application/json; type=entry',
    );
    for (const [name, value] of Object.entries(op.headers ?? {})) lines.push(`${name}: ${value}`);
    lines.push('');
    if (op.body !== undefined) lines.push(JSON.stringify(op.body));
  };
  for (const group of groups) {
    if (!group.changeset) {
      for (const op of group.operations) {
        lines.push(`--${boundary}`);
        request(op);
      }
      continue;
    }
    const changeset = `changeset_${nextId()}`;
    lines.push(`--${boundary}`, `Content-Type: multipart/mixed; boundary=${changeset}`, '');
    group.operations.forEach((op, index) => {
      lines.push(`--${changeset}`);
      request(op, op.contentId ?? String(index + 1));
    });
    lines.push(`--${changeset}--`);
  }
  lines.push(`--${boundary}--`, '');
  return { boundary, body: lines.join('\r\n') };
}

/** Headers up to the first blank line; `afterStartLine` when the text follows a status line, where a blank line at once means no headers. */
function headerBlock(
  text: string,
  afterStartLine = false,
): { headers: Record<string, string>; rest: string } {
  const headers: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  let i = 0;
  if (!afterStartLine) while (i < lines.length && lines[i].trim() === '') i += 1;
  for (; i < lines.length && lines[i].trim() !== ''; i += 1) {
    const colon = lines[i].indexOf(':');
    if (colon > 0) headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
  }
  return { headers, rest: lines.slice(i + 1).join('\r\n') };
}

function splitOn(text: string, boundary: string): string[] {
  const parts: string[] = [];
  let current: string[] | undefined;
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trimEnd();
    if (trimmed === `--${boundary}` || trimmed === `--${boundary}--`) {
      if (current) parts.push(current.join('\r\n'));
      current = trimmed.endsWith('--') && trimmed === `--${boundary}--` ? undefined : [];
      continue;
    }
    current?.push(line);
  }
  return parts;
}

function boundaryOf(contentType: string): string {
  const match = /boundary=("?)([^";]+)\1/i.exec(contentType);
  if (!match) throw new Error(`The batch response content type has no boundary: ${contentType}`);
  return match[2].trim();
}

function readPart(text: string): BatchPartResult {
  const outer = headerBlock(text);
  const lines = outer.rest.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && lines[i].trim() === '') i += 1;
  const status = /^HTTP\/1\.[01]\s+(\d{3})/.exec(lines[i] ?? '');
  if (!status)
    throw new Error(`The batch response has a part without a status line: ${(lines[i] ?? '').slice(0, 80)}`);
  const inner = headerBlock(lines.slice(i + 1).join('\r\n'), true);
  const bodyText = inner.rest.trim();
  let body: unknown;
  if (bodyText !== '') {
    try {
      body = JSON.parse(bodyText);
    } catch {
      body = bodyText;
    }
  }
  return { status: Number(status[1]), headers: inner.headers, body, contentId: outer.headers['content-id'] };
}

/** Every response part in order; a changeset that failed answers with its one failing part. */
export function parseBatchResponse(body: string, contentType: string): BatchPartResult[] {
  const results: BatchPartResult[] = [];
  for (const part of splitOn(body, boundaryOf(contentType))) {
    const { headers, rest } = headerBlock(part);
    const type = headers['content-type'] ?? '';
    if (/^multipart\/mixed/i.test(type)) {
      for (const inner of splitOn(rest, boundaryOf(type))) results.push(readPart(inner));
    } else {
      results.push(readPart(part));
    }
  }
  return results;
}
