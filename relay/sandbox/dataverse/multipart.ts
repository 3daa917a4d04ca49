/**
 * The multipart/mixed framing of an OData v4 `$batch` (OData Part 1 §11.7): a batch holds
 * application/http parts and changesets (themselves multipart/mixed), each request a request line,
 * headers, a blank line and an optional body. Pure; clients differ in line endings (CRLF or LF),
 * header case and absolute or relative URLs, so all of those are accepted.
 */

export interface BatchRequestPart {
  method: string;
  /** As written in the part: absolute, `/api/data/…`, relative to the service root, or `$n`. */
  target: string;
  headers: Record<string, string>;
  body: string;
  contentId?: string;
}

export type BatchItem =
  { kind: 'request'; request: BatchRequestPart } | { kind: 'changeset'; requests: BatchRequestPart[] };

export interface BatchResponsePart {
  status: number;
  headers: Record<string, string>;
  body?: string;
  contentId?: string;
}

export type BatchResponseItem =
  { kind: 'response'; response: BatchResponsePart } | { kind: 'changeset'; responses: BatchResponsePart[] };

export class BatchFormatError extends Error {}

export function boundaryOf(contentType: string | undefined): string {
  const match = /boundary=("?)([^";]+)\1/i.exec(contentType ?? '');
  if (!match || !/^multipart\/mixed/i.test(contentType ?? ''))
    throw new BatchFormatError('Content-Type must be multipart/mixed with a boundary');
  return match[2].trim();
}

/** Splits a body on `--boundary` lines; the preamble and the epilogue after `--boundary--` are dropped. */
function splitParts(body: string, boundary: string): string[] {
  const lines = body.split(/\r?\n/);
  const parts: string[] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed === `--${boundary}--`) {
      if (current) parts.push(current.join('\r\n'));
      return parts;
    }
    if (trimmed === `--${boundary}`) {
      if (current) parts.push(current.join('\r\n'));
      current = [];
      continue;
    }
    current?.push(line);
  }
  throw new BatchFormatError(`The batch has no closing --${boundary}-- line`);
}

/** Reads `Header: value` lines up to the first blank line; returns the headers and the rest. */
function readHeaders(
  text: string,
  afterRequestLine = false,
): { headers: Record<string, string>; rest: string } {
  const headers: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  let i = 0;
  // After a request line a blank line at once means no headers; before part headers, blanks are padding.
  if (!afterRequestLine) while (i < lines.length && lines[i].trim() === '') i += 1;
  for (; i < lines.length; i += 1) {
    const line = lines[i];
    if (line.trim() === '') {
      i += 1;
      break;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new BatchFormatError(`The batch has a malformed header line: ${line.slice(0, 80)}`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, rest: lines.slice(i).join('\r\n') };
}

function parseRequestPart(text: string): BatchRequestPart {
  const outer = readHeaders(text);
  if (!/^application\/http/i.test(outer.headers['content-type'] ?? ''))
    throw new BatchFormatError('Every batch part must be Content-Type: application/http');
  const lines = outer.rest.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && lines[i].trim() === '') i += 1;
  const requestLine = /^([A-Z]+)\s+(\S+)(\s+HTTP\/1\.[01])?\s*$/.exec(lines[i] ?? '');
  if (!requestLine)
    throw new BatchFormatError(`The batch has a malformed request line: ${(lines[i] ?? '').slice(0, 80)}`);
  const inner = readHeaders(lines.slice(i + 1).join('\r\n'), true);
  return {
    method: requestLine[1],
    target: requestLine[2],
    headers: inner.headers,
    body: inner.rest.trim(),
    contentId: outer.headers['content-id'] ?? inner.headers['content-id'],
  };
}

export function parseBatch(body: string, contentType: string | undefined): BatchItem[] {
  const boundary = boundaryOf(contentType);
  return splitParts(body, boundary).map((part): BatchItem => {
    const { headers, rest } = readHeaders(part);
    const type = headers['content-type'] ?? '';
    if (/^multipart\/mixed/i.test(type)) {
      const requests = splitParts(rest, boundaryOf(type)).map(parseRequestPart);
      return { kind: 'changeset', requests };
    }
    return { kind: 'request', request: parseRequestPart(part) };
  });
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

function formatResponsePart(part: BatchResponsePart): string[] {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (part.contentId !== undefined) lines.push(`Content-ID: ${part.contentId}`);
  lines.push('', `HTTP/1.1 ${part.status} ${reasonPhrase(part.status)}`);
  for (const [name, value] of Object.entries(part.headers)) lines.push(`${name}: ${value}`);
  lines.push('', part.body ?? '');
  return lines;
}

export function formatBatchResponse(
  items: BatchResponseItem[],
  boundary: string,
  nextId: () => string,
): string {
  const lines: string[] = [];
  for (const item of items) {
    lines.push(`--${boundary}`);
    if (item.kind === 'response') {
      lines.push(...formatResponsePart(item.response));
      continue;
    }
    const changeset = `changesetresponse_${nextId()}`;
    lines.push(`Content-Type: multipart/mixed; boundary=${changeset}`, '');
    for (const response of item.responses) lines.push(`--${changeset}`, ...formatResponsePart(response));
    lines.push(`--${changeset}--`);
  }
  lines.push(`--${boundary}--`, '');
  return lines.join('\r\n');
}
