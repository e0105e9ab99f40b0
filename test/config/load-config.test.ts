// One config object, validated at start-up: a bad file names the file, the key and what was
// expected, and the runtime profile never falls back to the example.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { linePolicyFromConfig } from '../../src/config/line-policy.js';

const repoRoot = join(import.meta.dirname, '..', '..');

function installation(factoryYaml?: string, temporalYaml = readFileSync(join(repoRoot, 'temporal.yaml'), 'utf8')): string {
  const root = mkdtempSync(join(tmpdir(), 'conveyor-config-'));
  writeFileSync(join(root, 'temporal.yaml'), temporalYaml);
  mkdirSync(join(root, 'instance.example'));
  writeFileSync(join(root, 'instance.example', 'factory.yaml'), readFileSync(join(repoRoot, 'instance.example', 'factory.yaml'), 'utf8'));
  if (factoryYaml !== undefined) {
    mkdirSync(join(root, 'instance'));
    writeFileSync(join(root, 'instance', 'factory.yaml'), factoryYaml);
  }
  return root;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('loads the checked-in files with the defaults DESIGN.md names', () => {
    const config = loadConfig({ root: repoRoot, profile: 'sandbox', env: {} });
    expect(config.taskQueue).toBe('conveyor-sandbox');
    expect(config.temporal.devServer).toMatchObject({ port: 7233, uiPort: 8233 });
    expect(config.temporal.worker.metricsPort).toBe(9464);
    expect(config.factory.policies.timeouts).toMatchObject({ agentIdle: '10m', agentTotal: '60m', prOpen: '5m', ci: '60m', review: '7d' });
    expect(config.factory.policies).toMatchObject({ maxRedispatch: 3, budgetUsd: null, thinDescriptionChars: 140, syntheticLabel: 'conveyor-e2e', readyLabel: 'conveyor', payloadLimit: 16_384 });
    expect(linePolicyFromConfig(config).payloadLimit).toBe(16_384);
    expect(Object.keys(config.temporal.searchAttributes)).toEqual(['ConveyorIssueKey', 'ConveyorRepo', 'ConveyorPhase', 'ConveyorAgent', 'ConveyorPR', 'ConveyorFailureClass', 'ConveyorLease']);
    expect(linePolicyFromConfig(config).fleetWorkflowId).toBe('conveyor-fleet-conveyor-sandbox');
  });

  it('gives each profile its own task queue', () => {
    const queues = (['runtime', 'dev', 'sandbox'] as const).map((profile) => loadConfig({ root: installation(readFileSync(join(repoRoot, 'instance.example', 'factory.yaml'), 'utf8')), profile, env: {} }).taskQueue);
    expect(new Set(queues).size).toBe(3);
  });

  it('refuses to start the runtime profile without instance/factory.yaml', () => {
    const err = errorOf(() => loadConfig({ root: installation(), profile: 'runtime', env: {} }));
    expect(err.message).toMatch(/instance\/factory\.yaml.*does not exist.*Copy instance\.example/s);
  });

  it('names the file, the key and what was expected for a bad value', () => {
    const root = installation(readFileSync(join(repoRoot, 'instance.example', 'factory.yaml'), 'utf8').replace('agentIdle: 10m', 'agentIdle: soon').replace('mergePolicy: on-green-with-review', 'mergePolicy: yolo'));
    const err = errorOf(() => loadConfig({ root, profile: 'sandbox', env: {} }));
    expect(err.message).toContain(join(root, 'instance', 'factory.yaml'));
    expect(err.message).toMatch(/policies\.timeouts\.agentIdle: expected a duration/);
    expect(err.message).toMatch(/repos\.0\.mergePolicy: .*never.*on-green-with-review/);
  });

  it('reads policies.payloadLimit as bytes, and refuses an ambiguous or out-of-range size naming the key', () => {
    const example = readFileSync(join(repoRoot, 'instance.example', 'factory.yaml'), 'utf8');
    expect(loadConfig({ root: installation(example.replace('payloadLimit: 16KiB', 'payloadLimit: 64KiB')), profile: 'sandbox', env: {} }).factory.policies.payloadLimit).toBe(65_536);
    expect(loadConfig({ root: installation(example.replace('payloadLimit: 16KiB', 'payloadLimit: 4096')), profile: 'sandbox', env: {} }).factory.policies.payloadLimit).toBe(4096);
    const decimal = errorOf(() => loadConfig({ root: installation(example.replace('payloadLimit: 16KiB', 'payloadLimit: 16KB')), profile: 'sandbox', env: {} }));
    expect(decimal.message).toMatch(/policies\.payloadLimit: expected a whole number of bytes or a size with a binary unit, e\.g\. 16384, 16KiB, 64KiB; got "16KB"/);
    const huge = errorOf(() => loadConfig({ root: installation(example.replace('payloadLimit: 16KiB', 'payloadLimit: 4MiB')), profile: 'sandbox', env: {} }));
    expect(huge.message).toMatch(/policies\.payloadLimit: "4MiB" is 4194304 bytes; use between 1KiB and 256KiB \(Temporal refuses a payload over 2 MB/);
  });

  it('keeps finished agent run files 14 days and 20 runs per issue unless told otherwise, and refuses a retention that names no time, no count, or loses the log an escalation points to', () => {
    const example = readFileSync(join(repoRoot, 'instance.example', 'factory.yaml'), 'utf8');
    const withRunFiles = (maxAge: string, maxPerIssue: string) => installation(example.replace('maxAge: 14d', `maxAge: ${maxAge}`).replace('maxPerIssue: 20', `maxPerIssue: ${maxPerIssue}`));
    const load = (root: string) => loadConfig({ root, profile: 'sandbox', env: {} });

    const unsaid = example.replace(/^ {2}runFiles:\n {4}maxAge: 14d\n {4}maxPerIssue: 20\n/m, '');
    expect(unsaid).not.toContain('runFiles:');
    expect(load(installation(unsaid)).factory.agents.runFiles).toEqual({ maxAge: '14d', maxPerIssue: 20 });
    expect(load(withRunFiles('30d', '5')).factory.agents.runFiles).toEqual({ maxAge: '30d', maxPerIssue: 5 });

    expect(errorOf(() => load(withRunFiles('forever', '20'))).message).toMatch(/agents\.runFiles\.maxAge: expected a duration such as 30s, 10m, 2h or 7d/);
    expect(errorOf(() => load(withRunFiles('10m', '20'))).message).toMatch(/agents\.runFiles\.maxAge: at least 1h: an escalation points a human at the run's log/);
    expect(errorOf(() => load(withRunFiles('14d', '0'))).message).toMatch(/agents\.runFiles\.maxPerIssue: at least 1: the newest run's log is the one an escalation points to/);
    expect(errorOf(() => load(withRunFiles('14d', '2.5'))).message).toMatch(/agents\.runFiles\.maxPerIssue: expected a whole number of runs, e\.g\. 20/);
    expect(errorOf(() => load(withRunFiles('14d', 'lots'))).message).toMatch(/agents\.runFiles\.maxPerIssue: expected a whole number of runs, e\.g\. 20/);
    expect(errorOf(() => load(installation(example.replace('maxPerIssue: 20', 'maxPerIssue: 20\n    keep: 3')))).message).toMatch(/agents\.runFiles: Unrecognized key.*keep/);
  });

  it('catches unknown keys (a typo is not silently ignored) and dangling references', () => {
    const root = installation(`
tracker:
  teams: [{ key: ENG, repo: acme/api }]
repos: [{ name: acme/web }]
agents: { default: claude, providers: { codex: { command: [codex] } } }
policies: { maxRedispach: 2 }
`);
    const err = errorOf(() => loadConfig({ root, profile: 'sandbox', env: {} }));
    expect(err.message).toMatch(/policies: Unrecognized key.*maxRedispach/);
    const fixed = installation(`
tracker:
  teams: [{ key: ENG, defaultRepo: acme/api }]
repos: [{ name: acme/web }]
agents: { default: claude, providers: { codex: { command: [codex] } } }
`);
    const refs = errorOf(() => loadConfig({ root: fixed, profile: 'sandbox', env: {} }));
    expect(refs.message).toMatch(/tracker\.teams\.0\.defaultRepo: "acme\/api" is not listed under repos/);
    expect(refs.message).toMatch(/agents\.default: "claude" is not listed/);
  });

  it('refuses a team repo (the old silent default) and says to write defaultRepo or routing rules instead', () => {
    const root = installation(`
tracker:
  teams: [{ key: ENG, repo: acme/api }]
repos: [{ name: acme/api }]
agents: { default: codex, providers: { codex: { command: [codex] } } }
`);
    const err = errorOf(() => loadConfig({ root, profile: 'sandbox', env: {} }));
    expect(err.message).toMatch(/tracker\.teams\.0\.repo: a team no longer names a repo: it was a silent default/);
    expect(err.message).toMatch(/Write `defaultRepo: <owner\/name>`/);
  });

  it('refuses a routing rule without conditions, a bad pattern, and a rule for an unknown team', () => {
    const base = `
tracker:
  teams: [{ key: ENG }]
repos: [{ name: acme/api }]
agents: { default: codex, providers: { codex: { command: [codex] } } }
`;
    const catchAll = errorOf(() => loadConfig({ root: installation(`${base}routing: [{ repo: acme/api }]\n`), profile: 'sandbox', env: {} }));
    expect(catchAll.message).toMatch(/routing\.0: a routing rule needs at least one condition .*set defaultRepo on the team/);
    const badPattern = errorOf(() => loadConfig({ root: installation(`${base}routing: [{ titlePattern: "(unclosed", repo: acme/api }]\n`), profile: 'sandbox', env: {} }));
    expect(badPattern.message).toMatch(/routing\.0\.titlePattern: expected a regular expression/);
    const team = errorOf(() => loadConfig({ root: installation(`${base}routing: [{ team: OPS, repo: acme/api }]\n`), profile: 'sandbox', env: {} }));
    expect(team.message).toMatch(/routing\.0\.team: "OPS" is not listed under tracker\.teams/);
    const ok = loadConfig({ root: installation(`${base}routing: [{ team: ENG, labels: [api], repo: acme/api }]\n`), profile: 'sandbox', env: {} });
    expect(ok.factory.repos[0]!.graduation.cleanMerges).toBe(3);
    expect(ok.factory.tracker.teams[0]!.defaultRepo).toBeUndefined();
  });

  it('reports broken YAML with the file', () => {
    const err = errorOf(() => loadConfig({ root: installation('tracker: [unclosed'), profile: 'sandbox', env: {} }));
    expect(err.message).toMatch(/factory\.yaml is not valid YAML/);
  });

  it('sizes the workflow cache on purpose, and refuses a cache smaller than the workflow tasks in flight naming the key', () => {
    expect(loadConfig({ root: repoRoot, profile: 'sandbox', env: {} }).temporal.worker.maxCachedWorkflows).toBe(500);
    const temporalYaml = readFileSync(join(repoRoot, 'temporal.yaml'), 'utf8');
    // Absent from temporal.yaml: the schema's default, not the SDK's heap-sized one.
    const absent = temporalYaml.replace(/^ {2}maxCachedWorkflows: .*\n/m, '');
    expect(absent).not.toContain('maxCachedWorkflows');
    expect(loadConfig({ root: installation(undefined, absent), profile: 'sandbox', env: {} }).temporal.worker.maxCachedWorkflows).toBe(500);
    expect(loadConfig({ root: installation(undefined, temporalYaml.replace('maxCachedWorkflows: 500', 'maxCachedWorkflows: 2000')), profile: 'sandbox', env: {} }).temporal.worker.maxCachedWorkflows).toBe(2000);
    const small = errorOf(() => loadConfig({ root: installation(undefined, temporalYaml.replace('maxCachedWorkflows: 500', 'maxCachedWorkflows: 10')), profile: 'sandbox', env: {} }));
    expect(small.message).toMatch(/temporal\.yaml/);
    expect(small.message).toMatch(/worker\.maxCachedWorkflows: maxCachedWorkflows must be at least maxConcurrentWorkflowTaskExecutions/);
    const one = errorOf(() => loadConfig({ root: installation(undefined, temporalYaml.replace('maxCachedWorkflows: 500', 'maxCachedWorkflows: 1').replace('maxConcurrentWorkflowTaskExecutions: 40', 'maxConcurrentWorkflowTaskExecutions: 1')), profile: 'sandbox', env: {} }));
    expect(one.message).toMatch(/worker\.maxCachedWorkflows: .*>=2/);
  });

  it('takes the Temporal address, namespace and mTLS files from the environment', () => {
    const config = loadConfig({ root: repoRoot, profile: 'runtime', env: { CONVEYOR_FACTORY_CONFIG: 'instance.example/factory.yaml', TEMPORAL_ADDRESS: 'acme.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'acme.a1b2c', TEMPORAL_TLS_CERT: 'c.pem', TEMPORAL_TLS_KEY: 'k.pem' } });
    expect(config.temporal.connection).toMatchObject({ address: 'acme.a1b2c.tmprl.cloud:7233', namespace: 'acme.a1b2c', tls: { certFile: 'c.pem', keyFile: 'k.pem' } });
  });
});
