/**
 * Collects work for a short window and hands it over in batches: API calls are the scarce
 * resource, so many callers' requests become one call. Items are grouped (one group per kind of
 * call), merged by key inside a group (two writes to one record become one), and a group is flushed
 * when it has been quiet for `windowMs`, when its first item has waited `maxWaitMs`, or when it
 * holds `maxBatch` distinct keys, whichever comes first. The quiet window keeps a lone request's
 * delay at `windowMs`, while a burst keeps filling one call up to `maxWaitMs`.
 */

export interface BatchEntry<T, R> {
  key: string;
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export interface BatcherOptions<T, R> {
  windowMs: number;
  /** Longest any item waits while a burst keeps the group busy; defaults to `windowMs`. */
  maxWaitMs?: number;
  /**
   * When `burstSize` requests for a group arrived within the last `burstWindowMs` (a burst or a
   * sustained stream), wait for `burstWindowMs` of quiet instead of `windowMs`, up to `maxWaitMs`,
   * so the next wave (the next Pub/Sub batch, say) joins the same call. At a trickle, a request
   * still waits only `windowMs`.
   */
  burstSize?: number;
  burstWindowMs?: number;
  maxBatch: number;
  /** Performs the call for one group; must settle each entry (a throw rejects the unsettled ones). */
  flush(group: string, entries: Array<BatchEntry<T, R>>): Promise<void>;
  /** Combines two items for the same key; by default the later item replaces the earlier one. */
  merge?(earlier: T, later: T): T;
}

export interface Batcher<T, R> {
  add(group: string, key: string, item: T): Promise<R>;
  /** Flushes every pending group now and waits for all in-flight batches. */
  drain(): Promise<void>;
}

interface PendingGroup<T, R> {
  entries: Map<
    string,
    { item: T; waiters: Array<{ resolve(result: R): void; reject(error: unknown): void }> }
  >;
  timer: NodeJS.Timeout;
  /** When the first item arrived; the group flushes by this + maxWaitMs at the latest. */
  startedAt: number;
}

export function createBatcher<T, R>(options: BatcherOptions<T, R>): Batcher<T, R> {
  const groups = new Map<string, PendingGroup<T, R>>();
  // Per group, the arrival times of the last `burstSize` requests (oldest first).
  const arrivals = new Map<string, number[]>();
  const bursting = (group: string, now: number): boolean => {
    if (options.burstSize === undefined) return false;
    const times = arrivals.get(group) ?? [];
    times.push(now);
    if (times.length > options.burstSize) times.shift();
    arrivals.set(group, times);
    return times.length >= options.burstSize && now - times[0] <= (options.burstWindowMs ?? options.windowMs);
  };
  const inFlight = new Set<Promise<void>>();

  const flushGroup = (group: string): void => {
    const pending = groups.get(group);
    if (!pending) return;
    groups.delete(group);
    clearTimeout(pending.timer);
    const entries: Array<BatchEntry<T, R>> = [...pending.entries].map(([key, { item, waiters }]) => {
      let settled = false;
      return {
        key,
        item,
        resolve: (result: R) => {
          if (settled) return;
          settled = true;
          for (const w of waiters) w.resolve(result);
        },
        reject: (error: unknown) => {
          if (settled) return;
          settled = true;
          for (const w of waiters) w.reject(error);
        },
      };
    });
    const run = (async () => {
      try {
        await options.flush(group, entries);
        const unsettled = new Error(`batch ${group} finished without a result for this item`);
        for (const entry of entries) entry.reject(unsettled);
      } catch (error) {
        for (const entry of entries) entry.reject(error);
      }
    })();
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  };

  return {
    add: (group, key, item) =>
      new Promise<R>((resolve, reject) => {
        const now = Date.now();
        const quiet = bursting(group, now)
          ? Math.max(options.windowMs, options.burstWindowMs ?? options.windowMs)
          : options.windowMs;
        let pending = groups.get(group);
        if (!pending) {
          pending = { entries: new Map(), timer: setTimeout(() => flushGroup(group), quiet), startedAt: now };
          groups.set(group, pending);
        } else {
          // Another arrival: wait for quiet again, but never past the group's deadline.
          clearTimeout(pending.timer);
          const deadline =
            pending.startedAt + Math.max(options.windowMs, options.maxWaitMs ?? options.windowMs);
          pending.timer = setTimeout(() => flushGroup(group), Math.max(0, Math.min(quiet, deadline - now)));
        }
        const existing = pending.entries.get(key);
        if (existing) {
          existing.item = options.merge ? options.merge(existing.item, item) : item;
          existing.waiters.push({ resolve, reject });
        } else {
          pending.entries.set(key, { item, waiters: [{ resolve, reject }] });
        }
        if (pending.entries.size >= options.maxBatch) flushGroup(group);
      }),
    drain: async () => {
      for (const group of [...groups.keys()]) flushGroup(group);
      await Promise.allSettled([...inFlight]);
    },
  };
}
