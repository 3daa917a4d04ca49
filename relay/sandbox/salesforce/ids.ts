/**
 * Salesforce record ids: a 3-character key prefix naming the object, then 12 characters, then
 * (for the 18-character form) a 3-character suffix that encodes the case of the first 15 so the id
 * survives case-insensitive systems. Both forms address the same record.
 */

export const KEY_PREFIXES: Readonly<Record<string, string>> = {
  Opportunity: '006',
  Account: '001',
  Contact: '003',
  OpportunityContactRole: '00k',
  User: '005',
  Organization: '00D',
  // Query locators look like record ids (01g…, 18 characters) followed by `-<offset>`.
  QueryLocator: '01g',
};

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** The 3-character case-checksum suffix of a 15-character id. */
function checksum(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk += 1) {
    let bits = 0;
    for (let i = 0; i < 5; i += 1) {
      const c = id15.charAt(chunk * 5 + i);
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET.charAt(bits);
  }
  return suffix;
}

const ID_PATTERN = /^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$/;

export function isSalesforceId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    ID_PATTERN.test(value) &&
    (value.length === 15 || checksum(value.slice(0, 15)) === value.slice(15))
  );
}

/** The 18-character form of a 15- or 18-character id; undefined when `value` is not an id. */
export function toId18(value: unknown): string | undefined {
  if (!isSalesforceId(value)) return undefined;
  const id15 = value.slice(0, 15);
  return id15 + checksum(id15);
}

/**
 * Hands out ids for one org. The fourth and fifth characters stand for the pod in real ids; a fixed
 * pair keeps ids recognisable as sandbox ids in logs.
 */
export function createIdGenerator(seed = 1): (sobject: string) => string {
  let counter = seed;
  return (sobject: string): string => {
    const prefix = KEY_PREFIXES[sobject];
    if (!prefix) throw new Error(`No key prefix for ${sobject}`);
    let n = counter;
    counter += 1;
    let body = '';
    for (let i = 0; i < 10; i += 1) {
      body = BASE62.charAt(n % 62) + body;
      n = Math.floor(n / 62);
    }
    const id15 = `${prefix}Sb${body}`;
    return id15 + checksum(id15);
  };
}

/** A fixed id, for users and the org that must be known before the store exists. */
export function fixedId(sobject: string, serial: number): string {
  return createIdGenerator(serial)(sobject);
}
