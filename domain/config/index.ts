// The config layer's pure side, safe to import from workflow code (no Node APIs, no yaml).
// Reading files (loadSweep, resolveSweepObject) lives in ./load.ts: import that only outside
// workflows.
export { expandSweep, INLINE_SOURCE } from './expand.ts';
export { experimentId, type IdParts } from './ids.ts';
export { ConfigNoticeRecord, NormalisedDataset, ResolvedEnvironment, ResolvedSweep, YamlPath } from './resolved.ts';
export {
  ConfigError,
  formatNotice,
  formatPath,
  formatProblem,
  formatProblems,
  type ConfigNotice,
  type ConfigProblem,
  type PathSegment,
} from './problems.ts';
export {
  chooseEnvironment,
  EnvironmentDefinition,
  EnvironmentsFile,
  ModelEntry,
  ModelsFile,
  type EnvironmentChoiceReason,
} from './registry.ts';
export { SweepFile } from './schema.ts';
export { SETTING_DEFAULTS } from './normalise.ts';
