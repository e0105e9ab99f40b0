// The workflow types as Temporal knows them: names that outlive a file, spelled once here and
// imported by the worker, the CLI, the sweep, visibility queries and the tests.
export const ISSUE_WORKFLOW_TYPE = 'issueWorkflow';
export const FLEET_WORKFLOW_TYPE = 'fleetWorkflow';
export const SWEEP_WORKFLOW_TYPE = 'sweepWorkflow';
