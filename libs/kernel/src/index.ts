export {
  type Row,
  type LogLevel,
  type ComputationContext,
  type LogLine,
  type LogSink,
  type ComputationClass,
  Computation,
  runWithLogContext,
  forEntity,
  isComputationClass,
} from './computation';
export {
  ComputationConfigSchema,
  type ComputationConfig,
  type ComputationConfigInput,
  parseComputationConfig,
} from './computation-config';
export { ManifestError, type ManifestErrorCode } from './manifest-error';
export {
  type Manifest,
  type ManifestEntry,
  type ManifestOptions,
  buildManifest,
  forcedComputations,
  selectComputations,
} from './manifest';
export { closestNames, didYouMean, levenshtein } from './closest-names';
export { canonicalJson, NotSerializableError } from './canonical-json';
export {
  sha256,
  resultDigest,
  EMPTY_RESULT_HASH,
  combineResultHashes,
  compositeHash,
  scopeDigest,
  diffHashParts,
} from './hashes';
export {
  type CodeHash,
  type CodeHashErrorCode,
  CodeHashCache,
  CodeHashError,
  computeCodeHash,
} from './code-hash';
export { addDays, windowFor, previousDate, isValidDate, InvalidDateError } from './dates';
export {
  type Schedule,
  ScheduleInput,
  availableAt,
  dataDateOf,
  describeSchedule,
  nextSlots,
  resolveSchedule,
  slotsBetween,
} from './schedule';
