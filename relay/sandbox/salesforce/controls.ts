/**
 * The sandbox's knobs and meters: API-call counters (API calls are the org's scarce resource, so
 * the relay's batching is judged by these numbers), fault injection for the fault suite and the
 * benchmarks, and validation rules an admin might add to the org. Shared by the in-process API and
 * the `/_sandbox/` admin routes.
 */
import { toId18 } from './ids.ts';
import type { RecordChange, SalesforceError } from './recordStore.ts';

/**
 * An admin's validation rule: a save of a matching record fails with
 * FIELD_CUSTOM_VALIDATION_EXCEPTION and `message`, as Salesforce reports a rule whose formula is
 * true. Every condition given must hold; a rule with none matches every save of `sobject`.
 */
export interface ValidationRule {
  /** The rule's name, as Setup lists it; adding a rule of the same name replaces it. */
  name: string;
  /** The error message the rule shows. */
  message: string;
  /** Default Opportunity. */
  sobject?: string;
  /** Only these records (15- or 18-character ids). A create never matches a rule that lists ids. */
  recordIds?: string[];
  /** The record as it would be saved has these values (null matches a blank field). */
  when?: Record<string, unknown>;
  /** ISCHANGED(): only a save that changes one of these fields (a create sets them all). */
  changed?: string[];
  /** The field the error is shown on; none for an error at the top of the page. */
  errorField?: string;
  /** In-process only: a further condition on the record as it would be saved. */
  test?: (record: Readonly<Record<string, unknown>>) => boolean;
}

export interface SandboxFaults {
  /** Delay added before every API and OAuth request is handled. */
  latencyMs: number;
  /** The next N record writes fail with UNABLE_TO_LOCK_ROW (per record inside collections). */
  lockNextWrites: number;
  /** The next N API calls fail with 403 REQUEST_LIMIT_EXCEEDED. */
  limitNextCalls: number;
}

export interface SandboxCounters {
  /** What Sforce-Limit-Info reports: calls counted against the org's daily allocation. */
  apiUsage: { used: number; limit: number };
  /** Every request handled, by endpoint kind (e.g. `query`, `collections.upsert`, `oauth.token`). */
  byEndpoint: Record<string, number>;
}

/** One counted REST request as the sandbox received it (JSON body parsed), for tests that assert on writes. */
export interface SandboxRequestLogEntry {
  /** Arrival time, epoch ms. */
  at: number;
  method: string;
  path: string;
  endpoint: string;
  body?: unknown;
}

export interface SandboxControls {
  faults(): SandboxFaults;
  setFaults(faults: Partial<SandboxFaults>): SandboxFaults;
  clearFaults(): void;
  /** Consumes one injected lock failure; true when this write must fail. */
  takeLockFault(): boolean;
  /** Consumes one injected limit failure; true when this call must fail. */
  takeLimitFault(): boolean;
  /** Records one request; `apiCall` ones count against the allocation. */
  record(endpoint: string, apiCall: boolean): void;
  /** True once the daily allocation is spent. */
  limitReached(): boolean;
  limitInfoHeader(): string;
  counters(): SandboxCounters;
  /** Appends to the request log (the last 1,000 requests are kept). */
  logRequest(entry: SandboxRequestLogEntry): void;
  /** The logged requests, oldest first; cleared by resetCounters. */
  requests(): SandboxRequestLogEntry[];
  resetCounters(): void;
  /** Adds an admin validation rule (replacing one of the same name); returns the rules in force. */
  addValidationRule(rule: ValidationRule): ValidationRule[];
  /** Switches a rule off; false when there was none of that name. */
  removeValidationRule(name: string): boolean;
  clearValidationRules(): void;
  validationRules(): ValidationRule[];
  /** The error of the first rule a save violates, or null when it passes them all. */
  checkValidationRules(
    change: Pick<RecordChange, 'sobject' | 'operation' | 'before' | 'after'>,
  ): SalesforceError | null;
}

const REQUEST_LOG_SIZE = 1000;

const NO_FAULTS: SandboxFaults = { latencyMs: 0, lockNextWrites: 0, limitNextCalls: 0 };

function nonNegativeInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer`);
  return value;
}

function blank(value: unknown): boolean {
  return value === null || value === undefined || value === '';
}

function sameValue(a: unknown, b: unknown): boolean {
  if (blank(a) || blank(b)) return blank(a) && blank(b);
  return typeof a === 'object' || typeof b === 'object' ? JSON.stringify(a) === JSON.stringify(b) : a === b;
}

/** Checks a rule given over the admin API (or by a test), naming the property at fault. */
export function parseValidationRule(input: unknown): ValidationRule {
  const rule = input as Partial<ValidationRule> | null;
  if (rule === null || typeof rule !== 'object') throw new Error('a validation rule must be a JSON object');
  if (typeof rule.name !== 'string' || rule.name.trim() === '')
    throw new Error('name must be a non-empty string');
  if (typeof rule.message !== 'string' || rule.message.trim() === '')
    throw new Error('message must be a non-empty string');
  if (rule.sobject !== undefined && typeof rule.sobject !== 'string')
    throw new Error('sobject must be a string');
  const strings = (key: 'recordIds' | 'changed') => {
    const list = rule[key];
    if (list !== undefined && (!Array.isArray(list) || list.some((item) => typeof item !== 'string')))
      throw new Error(`${key} must be an array of strings`);
  };
  strings('recordIds');
  strings('changed');
  if (
    rule.when !== undefined &&
    (rule.when === null || typeof rule.when !== 'object' || Array.isArray(rule.when))
  )
    throw new Error('when must be an object of field values');
  if (rule.errorField !== undefined && typeof rule.errorField !== 'string')
    throw new Error('errorField must be a string');
  if (rule.test !== undefined && typeof rule.test !== 'function') throw new Error('test must be a function');
  return { ...rule, name: rule.name, message: rule.message };
}

function fieldValue(record: Readonly<Record<string, unknown>>, name: string): unknown {
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : record[key];
}

function violates(
  rule: ValidationRule,
  change: Pick<RecordChange, 'sobject' | 'operation' | 'before' | 'after'>,
): boolean {
  if ((rule.sobject ?? 'Opportunity').toLowerCase() !== change.sobject.toLowerCase()) return false;
  if (rule.recordIds !== undefined) {
    const id = toId18(change.after.Id);
    if (change.operation === 'insert' || id === undefined) return false;
    if (!rule.recordIds.some((candidate) => toId18(candidate) === id)) return false;
  }
  for (const [field, value] of Object.entries(rule.when ?? {})) {
    if (!sameValue(fieldValue(change.after, field), value)) return false;
  }
  if (rule.changed !== undefined && change.operation === 'update') {
    const before = change.before ?? {};
    if (!rule.changed.some((field) => !sameValue(fieldValue(before, field), fieldValue(change.after, field))))
      return false;
  }
  return rule.test === undefined || rule.test(change.after);
}

export function createSandboxControls(
  options: { apiLimit?: number; faults?: Partial<SandboxFaults> } = {},
): SandboxControls {
  // An Enterprise Edition org's allocation starts at 100,000 calls per 24 hours.
  const limit = options.apiLimit ?? 100_000;
  let faults: SandboxFaults = { ...NO_FAULTS };
  let used = 0;
  let byEndpoint: Record<string, number> = {};
  let requestLog: SandboxRequestLogEntry[] = [];
  const rules = new Map<string, ValidationRule>();

  const controls: SandboxControls = {
    faults: () => ({ ...faults }),
    setFaults: (changes) => {
      const next = { ...faults };
      for (const key of Object.keys(NO_FAULTS) as Array<keyof SandboxFaults>) {
        if (changes[key] !== undefined) next[key] = nonNegativeInteger(key, changes[key]);
      }
      for (const key of Object.keys(changes)) {
        if (!(key in NO_FAULTS)) throw new Error(`Unknown fault ${key}`);
      }
      faults = next;
      return { ...faults };
    },
    clearFaults: () => {
      faults = { ...NO_FAULTS };
    },
    takeLockFault: () => {
      if (faults.lockNextWrites === 0) return false;
      faults.lockNextWrites -= 1;
      return true;
    },
    takeLimitFault: () => {
      if (faults.limitNextCalls === 0) return false;
      faults.limitNextCalls -= 1;
      return true;
    },
    record: (endpoint, apiCall) => {
      byEndpoint[endpoint] = (byEndpoint[endpoint] ?? 0) + 1;
      if (apiCall) used += 1;
    },
    limitReached: () => used >= limit,
    limitInfoHeader: () => `api-usage=${used}/${limit}`,
    counters: () => ({ apiUsage: { used, limit }, byEndpoint: { ...byEndpoint } }),
    logRequest: (entry) => {
      requestLog.push(entry);
      if (requestLog.length > REQUEST_LOG_SIZE) requestLog.splice(0, requestLog.length - REQUEST_LOG_SIZE);
    },
    requests: () => requestLog.map((entry) => structuredClone(entry)),
    resetCounters: () => {
      used = 0;
      byEndpoint = {};
      requestLog = [];
    },
    addValidationRule: (rule) => {
      const parsed = parseValidationRule(rule);
      rules.set(parsed.name, parsed);
      return [...rules.values()];
    },
    removeValidationRule: (name) => rules.delete(name),
    clearValidationRules: () => rules.clear(),
    validationRules: () => [...rules.values()],
    checkValidationRules: (change) => {
      for (const rule of rules.values()) {
        if (violates(rule, change))
          return {
            statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
            message: rule.message,
            fields: rule.errorField === undefined ? [] : [rule.errorField],
          };
      }
      return null;
    },
  };
  if (options.faults) controls.setFaults(options.faults);
  return controls;
}
