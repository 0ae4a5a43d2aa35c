export * from './api-types';
export * from './api-queries';
export * from './api-schemas';
export * from './api-app';
export * from './api-projections';
export * from './queries';
export * from './gcp-api';
export * from './maintenance';
export * from './invalidations';
export {
  describeCause,
  previewImpact,
  type Cause,
  type CellRef,
  type ImpactPreview,
  type PreviewCell,
} from './preview/impact-preview';
export type { GroupCells, ImpactGroup } from './preview/impact-summary';
export { renderImpactPreview } from './preview/render-impact';
export {
  GRAPH_FORMATS,
  renderGraph,
  type DagGraph,
  type DagNode,
  type GraphFormat,
  type NodeMark,
} from './graph/dag-graph';
export * from './auth/authenticator';
export * from './auth/auth-config';
export { authProviders } from './auth/auth.guard';
export {
  RateLimitConfigError,
  resolveRateLimit,
  type RateLimit,
} from './rate-limit/rate-limit.policy';
export {
  BrowserSafetyConfigError,
  resolveBrowserSafety,
  type BrowserSafetySettings,
} from './browser-safety/browser-safety.policy';
