// Names shared by workers, workflows and clients: task queues, workflow ids, signals, queries.
// One module so that a renamed queue cannot leave a worker polling where nobody schedules.
// Workflow code imports this module: no Node APIs.

/** Workflows, the GPU pool and sweep-level activities (config, outcomes, summary) run here. */
export const CONTROL_TASK_QUEUE = 'kvsweep-control';

/**
 * Offline experiments (no server, no GPU): served by every control worker, as many at once as its
 * machine has cores. Its own queue, so simulations never hold the control queue's activity slots.
 */
export const OFFLINE_TASK_QUEUE = 'kvsweep-offline';

/** Each host's own queue: activities bound to the processes and GPUs of that host. */
export function hostTaskQueue(hostId: string): string {
  return `kvsweep-host/${hostId}`;
}

/** The one GPU pool of a namespace: every sweep leases its GPUs there, so none is double-booked. */
export const GPU_POOL_WORKFLOW_ID = 'kvsweep/gpu-pool';

/** Readable sweep ids: `sweep/<tag>/<YYYY-MM-DD>` unless the user names the sweep. */
export function defaultSweepId(tag: string, date: string): string {
  return `sweep/${tag}/${date}`;
}

/** Child ids say which sweep they belong to: `<sweepId>/<experimentId>`. */
export function experimentWorkflowId(sweepId: string, experimentId: string): string {
  return `${sweepId}/${experimentId}`;
}

/**
 * The lease request of one attempt of an experiment: a repeated request is the same request. It is
 * also the key of that attempt's processes on the host (leaseProcessKeys), so the pool can have a
 * host stop exactly what one lease left running. The one place either is built.
 */
export function leaseRequestId(experimentWorkflowId: string, attempt: number): string {
  return `${experimentWorkflowId}#${attempt}`;
}

/** The keys the processes of one lease run under: its server, and the client replaying against it. */
export function leaseProcessKeys(requestId: string): { server: string; client: string } {
  return { server: requestId, client: `${requestId}/client` };
}

/**
 * Whether a process key belongs to a lease: an exact match on one of its keys, never a prefix
 * (attempt #1's request id is a prefix of attempt #10's).
 */
export function isLeaseProcessKey(key: string, requestId: string): boolean {
  const keys = leaseProcessKeys(requestId);
  return key === keys.server || key === keys.client;
}

export const WorkflowTypes = {
  sweep: 'SweepWorkflow',
  experiment: 'ExperimentWorkflow',
  gpuPool: 'GpuPoolWorkflow',
} as const;

export const Signals = {
  registerHost: 'registerHost',
  unregisterHost: 'unregisterHost',
  requestLease: 'requestLease',
  requestLeases: 'requestLeases',
  releaseLease: 'releaseLease',
  leaseGranted: 'leaseGranted',
  leaseRevoked: 'leaseRevoked',
} as const;

export const Queries = {
  progress: 'progress',
  pool: 'pool',
  experimentState: 'experimentState',
} as const;

/** Custom search attributes kvsweep registers on its dev server (and documents for others). */
export const SearchAttributes = {
  tag: 'KvsweepTag',
  sweepId: 'KvsweepSweepId',
  model: 'KvsweepModel',
  dataset: 'KvsweepDataset',
  cacheSizeGb: 'KvsweepCacheSizeGb',
  requestRate: 'KvsweepRequestRate',
  evictionStrategy: 'KvsweepEvictionStrategy',
  status: 'KvsweepStatus',
} as const;

/** Types for `temporal server start-dev --search-attribute NAME=TYPE`. */
export const SearchAttributeTypes: Record<string, 'Keyword' | 'Double' | 'Text' | 'Int'> = {
  [SearchAttributes.tag]: 'Keyword',
  [SearchAttributes.sweepId]: 'Keyword',
  [SearchAttributes.model]: 'Keyword',
  [SearchAttributes.dataset]: 'Keyword',
  [SearchAttributes.cacheSizeGb]: 'Double',
  [SearchAttributes.requestRate]: 'Double',
  [SearchAttributes.evictionStrategy]: 'Keyword',
  [SearchAttributes.status]: 'Keyword',
};
