/**
 * Fitting a value to the field it is written to, before the write: a value Salesforce or Partner
 * Center would refuse for its shape (too long, too precise, a date out of range, a picklist
 * spelling) either becomes one the target accepts, with a note for the audit trail, or is
 * reported as a problem naming the field, which no retry can fix. Pure: the field rules come from
 * the mapping's targets (force-app or the org's describe) and from referralSchema.ts.
 */
import type { FieldInfo } from './mapping.ts';
import { REFERRAL_PATHS } from './referralSchema.ts';

export interface FitNote {
  /** The target field (Opportunity API name, Account field, or referral path). */
  readonly field: string;
  readonly message: string;
  /** True when the value was left as it is and the target may still refuse it. */
  readonly warning?: boolean;
}

export interface Fitted {
  readonly value: unknown;
  readonly notes: FitNote[];
  /** Why the value cannot be written at all, naming the field; empty when it can. */
  readonly problems: string[];
}

const TEXT_TYPES = new Set([
  'Text',
  'TextArea',
  'LongTextArea',
  'Html',
  'Url',
  'Email',
  'Phone',
  'EncryptedText',
]);
const NUMBER_TYPES = new Set(['Currency', 'Number', 'Percent', 'Double', 'Int']);

/** Salesforce's date range (Apex and the API refuse dates outside it). */
const FIRST_YEAR = 1700;
const LAST_YEAR = 4000;

/** Characters as a reader counts them: code points, so an emoji is one. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/**
 * The longest prefix of `text` within `maxUnits` UTF-16 code units (what Salesforce's length
 * check counts), cut between code points so a surrogate pair is never split.
 */
export function truncateText(text: string, maxUnits: number): string {
  if (text.length <= maxUnits) return text;
  let end = 0;
  for (const character of text) {
    if (end + character.length > maxUnits) break;
    end += character.length;
  }
  return text.slice(0, end);
}

function fitLength(field: string, text: string, maxUnits: number | undefined): Fitted {
  if (maxUnits === undefined || maxUnits <= 0 || text.length <= maxUnits)
    return { value: text, notes: [], problems: [] };
  const cut = truncateText(text, maxUnits);
  return {
    value: cut,
    notes: [
      {
        field,
        message: `${field} truncated from ${characterCount(text)} to ${characterCount(cut)} characters`,
      },
    ],
    problems: [],
  };
}

/** Rounds half away from zero, as Salesforce does, after removing binary noise (1.005 → 1.01). */
export function roundToScale(value: number, scale: number): number {
  const factor = 10 ** scale;
  const scaled = Number((Math.abs(value) * factor).toPrecision(15));
  const rounded = (Math.sign(value) * Math.round(scaled)) / factor;
  return rounded === 0 ? 0 : rounded;
}

function fitNumber(field: string, value: number, info: FieldInfo): Fitted {
  if (!Number.isFinite(value))
    return { value, notes: [], problems: [`${field}: ${String(value)} is not a finite number`] };
  const notes: FitNote[] = [];
  let fitted = value;
  if (info.scale !== undefined) {
    fitted = roundToScale(value, info.scale);
    if (fitted !== value)
      notes.push({
        field,
        message: `${field} rounded from ${value} to ${fitted} (${info.scale} decimal places)`,
      });
  }
  if (info.precision !== undefined) {
    const digits = info.precision - (info.scale ?? 0);
    if (Math.abs(fitted) >= 10 ** digits) {
      return {
        value: fitted,
        notes,
        problems: [
          `${field}: ${fitted} does not fit the field (at most ${digits} digits before the decimal point)`,
        ],
      };
    }
  }
  return { value: fitted, notes, problems: [] };
}

function fitDate(field: string, value: unknown): Fitted {
  const text = String(value);
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const date = match ? new Date(`${text}T00:00:00Z`) : null;
  if (!match || date === null || Number.isNaN(date.getTime()) || !date.toISOString().startsWith(text))
    return { value, notes: [], problems: [`${field}: ${JSON.stringify(value)} is not a date`] };
  const year = Number(match[1]);
  if (year < FIRST_YEAR || year > LAST_YEAR)
    return {
      value,
      notes: [],
      problems: [`${field}: ${text} is outside the dates Salesforce accepts (${FIRST_YEAR}–${LAST_YEAR})`],
    };
  return { value: text, notes: [], problems: [] };
}

function fitPicklist(field: string, value: string, info: FieldInfo): Fitted {
  const values = info.picklistValues;
  if (values === undefined || values.includes(value)) return fitLength(field, value, info.length);
  const same = values.find((candidate) => candidate.toLowerCase() === value.trim().toLowerCase());
  if (same !== undefined)
    return {
      value: same,
      notes: [{ field, message: `${field} "${value}" mapped to the picklist value "${same}"` }],
      problems: [],
    };
  if (info.restricted !== true) return fitLength(field, value, info.length);
  return {
    value,
    notes: [
      {
        field,
        message: `${field} "${value}" is not a value of its restricted picklist; sent unchanged, Salesforce may refuse it`,
        warning: true,
      },
    ],
    problems: [],
  };
}

/** Fits one value to an Opportunity (or Account) field; `info` undefined leaves it as it is. */
export function fitSalesforceValue(field: string, value: unknown, info: FieldInfo | undefined): Fitted {
  if (value === null || value === undefined || info === undefined) return { value, notes: [], problems: [] };
  if (TEXT_TYPES.has(info.type))
    return fitLength(field, typeof value === 'string' ? value : String(value), info.length);
  if (info.type === 'Picklist')
    return fitPicklist(field, typeof value === 'string' ? value : String(value), info);
  if (NUMBER_TYPES.has(info.type)) {
    const number = typeof value === 'number' ? value : Number(value);
    return fitNumber(field, number, info);
  }
  if (info.type === 'Date') return fitDate(field, value);
  if (info.type === 'DateTime') {
    const time = Date.parse(String(value));
    return Number.isNaN(time)
      ? { value, notes: [], problems: [`${field}: ${JSON.stringify(value)} is not a date and time`] }
      : { value: new Date(time).toISOString(), notes: [], problems: [] };
  }
  if (info.type === 'Checkbox') return { value: value === true, notes: [], problems: [] };
  return { value, notes: [], problems: [] };
}

/**
 * Fits one value to a referral path (outbound): an enum value in another spelling becomes the
 * documented one, an unknown one is sent unchanged with a warning; a currency is upper-cased;
 * a deal value below 0 is a problem; a string longer than `maxLength` (configured, as Partner
 * Center documents no lengths) is truncated.
 */
export function fitReferralValue(path: string, value: unknown, maxLength?: number): Fitted {
  if (value === null || value === undefined) return { value, notes: [], problems: [] };
  const info = REFERRAL_PATHS.get(path);
  if (info?.kind === 'enum' && typeof value === 'string' && info.values !== undefined) {
    if (info.values.includes(value)) return { value, notes: [], problems: [] };
    const same = info.values.find((candidate) => candidate.toLowerCase() === value.trim().toLowerCase());
    if (same !== undefined)
      return {
        value: same,
        notes: [{ field: path, message: `${path} "${value}" sent as "${same}"` }],
        problems: [],
      };
    return {
      value,
      notes: [
        {
          field: path,
          message: `${path} "${value}" is not one of ${info.values.join(', ')}; sent unchanged, Partner Center may refuse it`,
          warning: true,
        },
      ],
      problems: [],
    };
  }
  if (path === 'details.currency' && typeof value === 'string') {
    const code = value.trim().toUpperCase();
    if (/^[A-Z]{3}$/.test(code))
      return code === value
        ? { value, notes: [], problems: [] }
        : {
            value: code,
            notes: [{ field: path, message: `${path} "${value}" sent as "${code}"` }],
            problems: [],
          };
    return {
      value,
      notes: [],
      problems: [`${path}: "${value}" is not an ISO 4217 currency code (for example USD)`],
    };
  }
  if (info?.kind === 'number' && typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      return { value, notes: [], problems: [`${path}: ${String(value)} must be a number, 0 or more`] };
    return { value, notes: [], problems: [] };
  }
  if (info?.kind === 'string' && typeof value === 'string') return fitLength(path, value, maxLength);
  return { value, notes: [], problems: [] };
}
