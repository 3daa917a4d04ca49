import { loadConfig } from '../config.ts';
import type { MappingTest } from '../dashboardOperations.ts';
import { createAdminClient } from './adminClient.ts';
import { parseArgs } from './args.ts';
import { CliError, UsageError } from './cliErrors.ts';
import { table } from './output.ts';
import type { Output } from './output.ts';

export const mappingUsage =
  'mapping test <referralId|opportunityId> [--json]   the mapping dry run: what a sync would write, field by field';

const shown = (value: unknown) => (value === undefined ? '-' : JSON.stringify(value));

/**
 * `relay mapping test <id>`: reads both sides of the pair the id names and prints, for each mapped
 * field, the transform, both values, whether they differ and what a sync would write to each side
 * and why. Writes nothing.
 */
export async function mappingCommand(argv: string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { flags: ['json'], positionals: 2 });
  const [sub, id] = args.positionals;
  if (sub !== 'test')
    throw new UsageError(
      `${sub ? `${sub}: unknown subcommand` : '<subcommand>: missing'} (mapping test <id>)`,
    );
  if (!id) throw new UsageError('<referralId|opportunityId>: missing');
  const client = createAdminClient(loadConfig());
  let test: MappingTest;
  try {
    test = await client.get<MappingTest>(`/api/mapping-test/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error instanceof CliError && /HTTP 404/.test(error.message))
      throw new CliError(`${id}: the relay links no referral or CRM record with this id`);
    throw error;
  }
  if (args.flags.has('json')) {
    out.line(JSON.stringify(test));
    return test.plan ? 0 : 1;
  }
  out.line(
    `Referral ${test.referralId ?? '-'} ↔ Opportunity ${test.opportunityId ?? '-'} (dry run: nothing is written)`,
  );
  for (const [side, reading] of [
    ['Partner Center', test.partnerCenter],
    ['CRM', test.salesforce],
  ] as const)
    if (!reading.ok) out.line(`${side}: ${reading.error}`);
  if (!test.plan) return 1;
  out.line(
    table(
      ['field', 'transform', 'CRM', 'Partner Center', 'differs', 'to CRM', 'to Partner Center', 'why'],
      test.plan.fields.map((f) => [
        f.name,
        f.transform,
        shown(f.dealValue),
        shown(f.referralValue),
        f.differs ? 'yes' : 'no',
        'toDeal' in f ? shown(f.toDeal) : '-',
        'toReferral' in f ? shown(f.toReferral) : '-',
        f.rule,
      ]),
      40,
    ),
  );
  if (test.plan.problems.length > 0) out.line(`Not writable: ${test.plan.problems.join('; ')}`);
  return 0;
}
