/** The pure sync layer the jobs call: mapping, transforms, stage rules, diff, conflicts, audit. */
export type { AuditDirection, AuditEntry, AuditLevel, ParsedAuditLine } from './audit.ts';
export {
  AUDIT_MAX_LENGTH,
  formatAuditLine,
  mergeAuditTrails,
  parseAuditLines,
  prependAudit,
} from './audit.ts';
export type { CanonicalValues } from './canonical.ts';
export {
  agreedSoFar,
  agreedValues,
  canonicalFromOpportunity,
  canonicalFromReferral,
  fingerprint,
  stableStringify,
} from './canonical.ts';
export type { ConflictDecision, ConflictInput, ConflictResolution } from './conflict.ts';
export {
  describeDecision,
  partnerCenterHeldPaths,
  resolveConflict,
  salesforceHeldFields,
} from './conflict.ts';
export { isIsoCountryCode, ISO_3166_ALPHA_2 } from './countryCodes.ts';
export type { ReferralPatchPlan } from './diff.ts';
export { diffOpportunity, diffReferral, isObject, planReferralPatch } from './diff.ts';
export type { InboundValues } from './inbound.ts';
export { customerToAccountFields, mapReferralToOpportunity } from './inbound.ts';
export type { JsonPatchOp } from './jsonPatch.ts';
export type {
  CustomerFields,
  Direction,
  FieldDefault,
  FieldInfo,
  FieldMapping,
  Mapping,
  DescribedFields,
  OpportunitySchema,
  StageFields,
  Owner,
  StageNames,
  TransformName,
} from './mapping.ts';
export {
  entriesFor,
  inboundPausedEntries,
  mappedOpportunityFields,
  parseMapping,
  unfilledRequiredFields,
  withTargets,
} from './mapping.ts';
export type {
  ContactInfo,
  OpportunityView,
  ReferralCreateBody,
  ReferralTarget,
  ReferralValues,
} from './outbound.ts';
export {
  buildCreateRequests,
  fitReferralValues,
  mapOpportunityToReferral,
  validateForCreate,
  withEngagementId,
  withoutInboundEchoes,
  withoutUnchangedSinceSync,
} from './outbound.ts';
export type { FittedReferralValues } from './outbound.ts';
export type { FitNote, Fitted } from './fit.ts';
export { characterCount, fitReferralValue, fitSalesforceValue, truncateText } from './fit.ts';
export type { InboundDecision, ReferralCategory } from './referralDecision.ts';
export { decideInbound, isForMicrosoft, namesOpportunity, referralCategory } from './referralDecision.ts';
export type { Referral, SolutionTag } from './referralSchema.ts';
export { REFERRAL_PATHS } from './referralSchema.ts';
export type { StageCategory, StatusPair, StatusPlan } from './stage.ts';
export {
  categoryOfDeal,
  categoryOfStatus,
  isTerminal,
  planStatusChange,
  stageForStatus,
  statusForDeal,
} from './stage.ts';
export type { CustomerInfo, Transform, TransformContext } from './transforms.ts';
export { customerFromProfile, getTransform, TRANSFORMS } from './transforms.ts';
export { planPair } from './plan.ts';
export type { FieldPlan, PairPlan } from './plan.ts';
export { referralLinkOf } from './transforms.ts';
