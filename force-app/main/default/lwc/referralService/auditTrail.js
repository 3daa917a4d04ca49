/**
 * Parses Opportunity.Audit__c, which the relay writes one entry per line, newest first:
 *   2026-11-25T08:49:43Z | ERROR | outbound | Customer country "USA" is not an ISO 3166 alpha-2 code
 * The message may itself contain " | ", so everything after the third separator belongs to it.
 */
export function parseAuditTrail(text) {
  if (!text) {
    return [];
  }
  const entries = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line, index) => parseLine(line, index));
  // The relay writes newest first; sorting again keeps the timeline right if an admin pasted
  // lines out of order. Lines without a readable timestamp keep their place at the end.
  return entries
    .map((entry, position) => ({ entry, position }))
    .sort((a, b) => compareNewestFirst(a, b))
    .map(({ entry }) => entry);
}

export function newestError(entries) {
  return entries.find((entry) => entry.level === 'ERROR');
}

function parseLine(line, index) {
  const parts = line.split('|').map((part) => part.trim());
  if (parts.length < 4) {
    return { key: `audit-${index}`, timestamp: null, time: NaN, level: 'INFO', direction: '', message: line };
  }
  const [timestamp, level, direction, ...rest] = parts;
  const time = Date.parse(timestamp);
  return {
    key: `audit-${index}`,
    timestamp: Number.isNaN(time) ? null : timestamp,
    time,
    level: level.toUpperCase(),
    direction: direction.toLowerCase(),
    message: rest.join(' | '),
  };
}

function compareNewestFirst(a, b) {
  const aKnown = !Number.isNaN(a.entry.time);
  const bKnown = !Number.isNaN(b.entry.time);
  if (aKnown && bKnown && a.entry.time !== b.entry.time) {
    return b.entry.time - a.entry.time;
  }
  if (aKnown !== bKnown) {
    return aKnown ? -1 : 1;
  }
  return a.position - b.position;
}
