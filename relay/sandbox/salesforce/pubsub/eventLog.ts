import type { ProducerEvent } from '../../../src/crm/salesforce/pubsubProto.ts';

/**
 * One topic's retained events and the replay ids that point into them.
 *
 * Replay ids are 8 opaque bytes drawn from one counter shared by every topic of the sandbox, the
 * way the real bus interleaves many streams: ids are increasing but not contiguous per topic, and
 * a keepalive hands out a fresh id that lies beyond the topic's last event (contracts §1.3-1.4).
 * Each id remembers the position it stands for and when it was issued; once that is older than
 * the retention window (72 h on the platform) the id is refused.
 */

export interface StoredEvent {
  seq: number;
  replayId: Buffer;
  event: ProducerEvent;
  storedAt: number;
}

export type ReplayLookup = { ok: true; afterSeq: number } | { ok: false; reason: 'unknown' | 'expired' };

export interface ReplayIdCounter {
  next(): Buffer;
}

/** A counter starting at a time-derived base, so ids from two sandbox runs do not look alike. */
export function createReplayIdCounter(start = BigInt(Date.now()) * 1000n): ReplayIdCounter {
  let value = start;
  return {
    next() {
      value += 1n;
      const id = Buffer.alloc(8);
      id.writeBigUInt64BE(value);
      return id;
    },
  };
}

export interface EventLog {
  append(event: ProducerEvent): StoredEvent;
  /** Position just after the newest event, as a freshly issued replay id. */
  tip(): Buffer;
  latestSeq(): number;
  /** Position just before the oldest retained event. */
  earliestAfterSeq(): number;
  resolve(replayId: Buffer): ReplayLookup;
  /** Up to `limit` retained events after position `afterSeq`, oldest first. */
  eventsAfter(afterSeq: number, limit: number): StoredEvent[];
  /** Ages every event and issued id past the retention window. */
  expireAll(): void;
}

export function createEventLog(options: {
  retentionMs: number;
  counter: ReplayIdCounter;
  now?: () => number;
}): EventLog {
  const now = options.now ?? Date.now;
  const events: StoredEvent[] = [];
  const positions = new Map<string, { afterSeq: number; issuedAt: number }>();
  // Positions issued by keepalives, oldest first, so expired ones can be forgotten cheaply.
  const keepalivePositions: string[] = [];
  // Added to the clock by expireAll: jumping the log's clock forward ages everything already
  // stored past the window, while ids issued afterwards are fresh.
  let clockOffset = 0;

  const issuedAt = (): number => now() + clockOffset;
  const expired = (at: number): boolean => issuedAt() - at > options.retentionMs;

  function forgetExpiredKeepalives(): void {
    while (keepalivePositions.length > 0) {
      const key = keepalivePositions[0];
      const position = positions.get(key);
      if (position && !expired(position.issuedAt)) return;
      positions.delete(key);
      keepalivePositions.shift();
    }
  }

  return {
    append(event) {
      const stored: StoredEvent = {
        seq: events.length + 1,
        replayId: options.counter.next(),
        event,
        storedAt: issuedAt(),
      };
      events.push(stored);
      positions.set(stored.replayId.toString('hex'), { afterSeq: stored.seq, issuedAt: stored.storedAt });
      return stored;
    },
    tip() {
      forgetExpiredKeepalives();
      const id = options.counter.next();
      const key = id.toString('hex');
      positions.set(key, { afterSeq: events.length, issuedAt: issuedAt() });
      keepalivePositions.push(key);
      return id;
    },
    latestSeq: () => events.length,
    earliestAfterSeq() {
      const first = events.find((stored) => !expired(stored.storedAt));
      return first ? first.seq - 1 : events.length;
    },
    resolve(replayId) {
      const position = positions.get(replayId.toString('hex'));
      if (!position) return { ok: false, reason: 'unknown' };
      if (expired(position.issuedAt)) return { ok: false, reason: 'expired' };
      return { ok: true, afterSeq: position.afterSeq };
    },
    eventsAfter(afterSeq, limit) {
      const out: StoredEvent[] = [];
      for (let index = Math.max(0, afterSeq); index < events.length && out.length < limit; index += 1) {
        if (!expired(events[index].storedAt)) out.push(events[index]);
      }
      return out;
    },
    expireAll() {
      clockOffset += options.retentionMs + 1;
    },
  };
}
