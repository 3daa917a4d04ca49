/**
 * Fault knobs for the fault suite and benchmarks. Counted faults ("the next N calls") are consumed
 * one per API call or delivery, so a test can say exactly how much trouble the relay must absorb.
 */
export interface FaultSettings {
  /** Added before every API call is answered (ms). */
  latencyMs: number;
  /** The next N API calls answer 429 with Retry-After. */
  throttleNext: number;
  /** Seconds advertised in Retry-After and in the throttling message. */
  retryAfterSeconds: number;
  /** The next N API calls answer 503. */
  unavailableNext: number;
  /** The next N webhook events are never sent, as if Partner Center had dropped them. */
  loseNextDeliveries: number;
}

export interface Faults {
  settings(): FaultSettings;
  /** Merges the given knobs; refuses negative or non-integer counts with a message naming the knob. */
  update(changes: Partial<FaultSettings>): FaultSettings;
  setLatency(ms: number): void;
  throttleNext(count: number, retryAfterSeconds?: number): void;
  failNext(count: number): void;
  loseNextDeliveries(count: number): void;
  /** Consumes the fault that applies to this API call, if any. */
  takeApiFault(): 'throttle' | 'unavailable' | undefined;
  takeLostDelivery(): boolean;
  reset(): void;
}

const DEFAULTS: FaultSettings = {
  latencyMs: 0,
  throttleNext: 0,
  retryAfterSeconds: 1,
  unavailableNext: 0,
  loseNextDeliveries: 0,
};

export function createFaults(): Faults {
  let current: FaultSettings = { ...DEFAULTS };
  const faults: Faults = {
    settings: () => ({ ...current }),
    update(changes) {
      const next = { ...current };
      for (const [key, value] of Object.entries(changes)) {
        if (!(key in DEFAULTS))
          throw new RangeError(`${key}: unknown fault setting (known: ${Object.keys(DEFAULTS).join(', ')})`);
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
          throw new RangeError(`${key}: must be a non-negative integer`);
        next[key as keyof FaultSettings] = value;
      }
      current = next;
      return { ...current };
    },
    setLatency: (ms) => void faults.update({ latencyMs: ms }),
    throttleNext: (count, retryAfterSeconds = current.retryAfterSeconds) =>
      void faults.update({ throttleNext: count, retryAfterSeconds }),
    failNext: (count) => void faults.update({ unavailableNext: count }),
    loseNextDeliveries: (count) => void faults.update({ loseNextDeliveries: count }),
    takeApiFault() {
      if (current.throttleNext > 0) {
        current.throttleNext--;
        return 'throttle';
      }
      if (current.unavailableNext > 0) {
        current.unavailableNext--;
        return 'unavailable';
      }
      return undefined;
    },
    takeLostDelivery() {
      if (current.loseNextDeliveries === 0) return false;
      current.loseNextDeliveries--;
      return true;
    },
    reset() {
      current = { ...DEFAULTS };
    },
  };
  return faults;
}
