/**
 * Dead letters grouped by what went wrong, so an operator who fixed one cause (a field added to the
 * package, a permission granted) can retry every job it stopped at once. graphile-worker keeps only
 * an error's message, so the kind is that message's first line with the parts that differ between
 * records (ids, quoted values, long numbers) blanked out.
 */
export function errorKind(lastError: string | null | undefined): string {
  const line = (lastError ?? '').split('\n')[0].trim();
  if (line === '') return '(no error recorded)';
  const kind = line
    .replace(/"[^"]*"|'[^']*'|‘[^’]*’|“[^”]*”/g, '…')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '…')
    // Tokens with a digit in them that are id-sized (Salesforce ids, referral ids, job ids).
    .replace(/\b(?=[\w-]*\d)[\w-]{6,}\b/g, '…')
    .replace(/\b\d{4,}\b/g, '…')
    .replace(/\s+/g, ' ');
  return kind.length > 160 ? `${kind.slice(0, 159)}…` : kind;
}

export interface DeadLetterKind {
  kind: string;
  count: number;
  tasks: string[];
  /** One full error of this kind, as recorded. */
  example: string | null;
  latestAt: string;
}

export function groupByKind(
  jobs: ReadonlyArray<{ task: string; lastError: string | null; updatedAt: Date }>,
): DeadLetterKind[] {
  const groups = new Map<string, DeadLetterKind>();
  for (const job of jobs) {
    const kind = errorKind(job.lastError);
    const at = job.updatedAt.toISOString();
    const group = groups.get(kind);
    if (!group) {
      groups.set(kind, { kind, count: 1, tasks: [job.task], example: job.lastError, latestAt: at });
      continue;
    }
    group.count += 1;
    if (!group.tasks.includes(job.task)) group.tasks.push(job.task);
    if (at > group.latestAt) group.latestAt = at;
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind));
}
