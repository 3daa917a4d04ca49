/**
 * Dataverse Web API errors leave as `{"error":{"code":"0x…","message":"…"}}` (contract §2). Codes
 * marked UNCONFIRMED are not documented publicly for that case; clients should key on the HTTP
 * status, and the sandbox keeps each code in one place so it can be corrected.
 */
export const ERROR_CODES = {
  /** "<entity> With Id = … Does Not Exist" (documented). */
  doesNotExist: '0x80040217',
  /** "A record with matching key values already exists." */
  duplicateKey: '0x80040237',
  /** "The version of the existing record doesn't match the RowVersion property provided." */
  versionMismatch: '0x80060882',
  /** Invalid property in payload, $select or $filter. */
  invalidProperty: '0x80060888',
  /** Payload the service cannot read (wrong type, malformed JSON). */
  badPayload: '0x80048d19',
  /** A string longer than the column's MaxLength. */
  maxLength: '0x80044331',
  /** Service protection: number of requests (documented). */
  tooManyRequests: '0x80072322',
  /** Service protection: concurrent requests (documented). */
  tooManyConcurrent: '0x80072326',
  /** A write to a closed (won or lost) opportunity. UNCONFIRMED. */
  recordClosed: '0x80043b1c',
  /** statecode changed by PATCH where a close message is required. UNCONFIRMED. */
  stateChangeNotAllowed: '0x80040203',
  /** An alternate key that is not Active yet, or a key value with a forbidden character. UNCONFIRMED. */
  keyNotUsable: '0x80040203',
  /** Change tracking not enabled, or an expired delta token. UNCONFIRMED. */
  changeTracking: '0x80044352',
  /** Metadata: a column or key of that name already exists. UNCONFIRMED. */
  metadataDuplicate: '0x80044363',
  /** Missing or invalid bearer token. */
  unauthorized: '0x80072560',
  /** Unsupported request or malformed URL. */
  badRequest: '0x80060891',
  /** The service is unavailable (injected 503). */
  unavailable: '0x80040216',
} as const;

export class DataverseApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export const notFound = (table: string, id: string): DataverseApiError =>
  new DataverseApiError(404, ERROR_CODES.doesNotExist, `${table} With Id = ${id} Does Not Exist`);

export const badRequest = (message: string, code: string = ERROR_CODES.badRequest): DataverseApiError =>
  new DataverseApiError(400, code, message);
