/**
 * The record's audit trail: one entry per line, newest first, `timestamp | level | direction | message`.
 * The referral panel (LWC) parses the same format, so it stays this simple: ` | ` separates the
 * four parts and can never occur inside a message.
 */
export type AuditLevel = 'INFO' | 'ERROR';
export type AuditDirection = 'inbound' | 'outbound';

export interface AuditEntry {
  at: Date;
  level: AuditLevel;
  direction: AuditDirection;
  message: string;
}

export interface ParsedAuditLine {
  /** ISO 8601 UTC, seconds precision; null for a line not in the format (kept, not dropped). */
  at: string | null;
  level: AuditLevel | null;
  direction: AuditDirection | null;
  message: string;
}

/** The trail field is a LongTextArea(131072) in the Salesforce package (force-app field XML). */
export const AUDIT_MAX_LENGTH = 131072;
const SEPARATOR = ' | ';

export function formatAuditLine({ at, level, direction, message }: AuditEntry): string {
  const timestamp = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const oneLine = message
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replaceAll(SEPARATOR, ' - ')
    .trim();
  return [timestamp, level, direction, oneLine].join(SEPARATOR);
}

/**
 * `line` on top of `existing`, dropping the oldest whole lines so the result never exceeds
 * `maxLength`. A single line longer than the field is cut (it is the newest and must show).
 * Lengths are UTF-16 code units, which never undercount what Salesforce counts.
 */
export function prependAudit(
  existing: string | null,
  line: string,
  maxLength: number = AUDIT_MAX_LENGTH,
): string {
  if (line.length >= maxLength) return line.slice(0, maxLength);
  const combined = existing === null || existing === '' ? line : `${line}\n${existing}`;
  if (combined.length <= maxLength) return combined;
  // The newline before the first line that would not fit wholly is where the trail ends.
  const cut = combined.lastIndexOf('\n', maxLength);
  return combined.slice(0, cut);
}

const LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z) \| (INFO|ERROR) \| (inbound|outbound) \| (.*)$/;

/** The entries of a trail, newest first, as written; blank lines are skipped. */
export function parseAuditLines(text: string | null): ParsedAuditLine[] {
  if (text === null) return [];
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const match = LINE.exec(line);
      if (match === null) return { at: null, level: null, direction: null, message: line };
      return {
        at: match[1],
        level: match[2] as AuditLevel,
        direction: match[3] as AuditDirection,
        message: match[4],
      };
    });
}

/**
 * Two versions of an audit trail written for the same record at about the same time (each made by
 * prepending a line to what its writer read): every line of both, newest first, so neither
 * writer's line is lost. Lines start with their ISO timestamp, which sorts as text.
 */
export function mergeAuditTrails(
  a: string | null,
  b: string | null,
  maxLength: number = AUDIT_MAX_LENGTH,
): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const line of [...(a ?? '').split('\n'), ...(b ?? '').split('\n')]) {
    if (line === '' || seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  lines.sort((x, y) => (x < y ? 1 : x > y ? -1 : 0));
  let text = '';
  for (const line of lines) {
    const next = text === '' ? line : `${text}\n${line}`;
    if (next.length > maxLength) break;
    text = next;
  }
  return text;
}
