// Every workflow type a kvsweep worker registers. Workflow code is deterministic: no Node APIs,
// no clocks or randomness but Temporal's (Date.now() inside a workflow is workflow time).
export { SweepWorkflow } from './sweep.ts';
export { ExperimentWorkflow } from './experiment.ts';
export { GpuPoolWorkflow } from './gpu-pool.ts';
