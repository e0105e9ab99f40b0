// The workflow bundle's entry: every workflow type the worker runs.
export { issueWorkflow } from './issue/line.js';
export { fleetWorkflow } from './fleet-workflow.js';
export { sweepWorkflow } from './sweep-workflow.js';
