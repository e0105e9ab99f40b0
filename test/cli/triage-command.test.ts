// `conveyor triage` against the sandbox's emulators, as an operator runs it: the real command
// (bin/conveyor.js) reads the seeded backlog through @linear/sdk and @octokit/rest and sorts
// every open labelled issue, starting nothing. Also `conveyor graduation`, from the forge.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TriageReport } from '../../src/cli/judge.js';
import { loadConfig } from '../../src/config/load.js';
import type { GraduationEvidence } from '../../src/domain/graduation.js';
import { BACKLOG_ISSUES, seedDemo } from '../../src/sandbox/demo.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

let sandbox: Sandbox;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'conveyor-triage-cli-'));
  // Webhooks go nowhere (port 9 discards): this test is about reading, not about runs.
  sandbox = await startSandbox({ config: loadConfig({ root, profile: 'sandbox', env: {} }), dataDir, gatewayUrl: 'http://127.0.0.1:9', logger: pino({ level: 'silent' }) });
  expect(await seedDemo(sandbox, pino({ level: 'silent' }), { backlog: true })).toBe(true);
}, 120_000);

afterAll(async () => {
  await sandbox?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function conveyor(...args: string[]): Promise<string> {
  const { stdout } = await exec(process.execPath, [join(root, 'bin/conveyor.js'), ...args], {
    cwd: root,
    env: { ...process.env, CONVEYOR_PROFILE: 'sandbox', CONVEYOR_LINEAR_PORT: String(sandbox.linear.port), CONVEYOR_GITHUB_PORT: String(sandbox.github.port), CONVEYOR_FACTORY_CONFIG: 'instance.example/factory.yaml' },
    timeout: 120_000,
  });
  return stdout;
}

const byTitle = (reports: TriageReport[], title: string) => {
  const found = reports.find((r) => r.issue.title === title);
  if (!found) throw new Error(`no report for "${title}"`);
  return found;
};

describe('conveyor triage --all on the seeded backlog', () => {
  it('classifies every open labelled issue, as a table and as JSON, and starts nothing', async () => {
    const reports = JSON.parse(await conveyor('triage', '--all', '--json')) as TriageReport[];
    // The three demo issues (Todo) and the backlog (Backlog, judged as if ready).
    expect(reports).toHaveLength(3 + BACKLOG_ISSUES.length);
    const category = (title: string) => byTitle(reports, title).result.category;
    expect(category('Add a --json flag to the widgets CLI')).toBe('dispatchable');
    expect(category('Fix the off-by-one in pagination')).toBe('dispatchable');
    expect(category('Pin the Node version in CI')).toBe('dispatchable');
    expect(category('Add an FAQ page')).toBe('dispatchable');
    expect(category('Clean up')).toBe('thin');
    expect(category('Speed up rendering')).toBe('thin');
    expect(category('Make it better')).toBe('thin');
    expect(category('Choose a plugin architecture')).toBe('reserved');
    expect(category('Rewrite the storage layer')).toBe('reserved');
    expect(category('Document the widgets API')).toBe('unroutable');
    expect(category('Rotate the CI cache key')).toBe('unroutable');
    expect(category('Theme support for widgets')).toBe('blocked');
    expect(category('Dark mode')).toBe('blocked');
    expect(category('Move settings to YAML')).toBe('blocked');
    expect(category('Write the getting-started guide')).toBe('has-pr');

    // The routing trace says which rule fired, or that the default was used.
    expect(byTitle(reports, 'Add a --json flag to the widgets CLI').result.route).toMatchObject({ defaultUsed: false, fired: [{ rule: 1, repo: 'demo/widgets' }] });
    expect(byTitle(reports, 'Fix the off-by-one in pagination').result.route).toMatchObject({ defaultUsed: true, fired: [] });
    expect(byTitle(reports, 'Document the widgets API').result.route).toMatchObject({ problem: 'ambiguous', candidates: ['demo/docs', 'demo/widgets'] });
    expect(byTitle(reports, 'Rotate the CI cache key').result.route).toMatchObject({ problem: 'no-match', candidates: ['demo/widgets'] });
    expect(byTitle(reports, 'Move settings to YAML').result.blockerCycle).toHaveLength(3);
    expect(byTitle(reports, 'Add an FAQ page').result).toMatchObject({ routing: { repo: 'demo/docs', mergePolicy: 'never' }, graduating: { merged: 1, needed: 3 } });
    expect(byTitle(reports, 'Add a greeting section to the README').ready).toBe(true);
    expect(byTitle(reports, 'Clean up').ready).toBe(false);

    const table = await conveyor('triage', '--all');
    expect(table).toMatch(/^issue\s+state\s+class\s+repo\s+why\s+title/m);
    expect(table).toMatch(/already has a PR/);
    expect(table).toMatch(/Nothing was started\.$/m);
    // Nothing changed in the tracker: every backlog issue is still in Backlog, without comments.
    const issues = sandbox.linear.state().data;
    const backlog = issues.issues.filter((i) => BACKLOG_ISSUES.some((b) => b.title === i.title));
    expect(backlog.every((i) => issues.states.find((s) => s.id === i.stateId)?.name === 'Backlog')).toBe(true);
    expect(issues.comments).toEqual([]);
  }, 180_000);

  it('--team narrows to one team', async () => {
    const reports = JSON.parse(await conveyor('triage', '--all', '--team', 'OPS', '--json')) as TriageReport[];
    expect(reports.map((r) => r.issue.title).sort()).toEqual(['Pin the Node version in CI', 'Rotate the CI cache key']);
  }, 120_000);

  it('triage ISSUE prints the decision and every rule that fired', async () => {
    const key = sandbox.linear.state().data.issues.find((i) => i.title === 'Pin the Node version in CI')!;
    const out = await conveyor('triage', `OPS-${key.number}`);
    expect(out).toMatch(/decision: dispatch \(dispatchable\)/);
    expect(out).toMatch(/rule 2: team OPS, label "infra" → demo\/widgets/);
    expect(out).toMatch(/team defaultRepo used: no/);
    const fallback = await conveyor('triage', 'DEMO-1');
    expect(fallback).toMatch(/rules that fired: none\nteam defaultRepo used: yes \(demo\/widgets\)/);
  }, 120_000);

  it('conveyor graduation shows where each repo stands and which PRs count', async () => {
    const evidence = JSON.parse(await conveyor('graduation', '--json')) as GraduationEvidence[];
    expect(evidence.find((g) => g.repo === 'demo/docs')).toMatchObject({ merged: 1, needed: 3, graduated: false, counted: [{ mergedBy: 'demo-reviewer' }], excluded: [{ why: expect.stringMatching(/followed by a fix: #\d+ "Revert/) }] });
    expect(evidence.find((g) => g.repo === 'demo/widgets')).toMatchObject({ needed: 0, graduated: true });
    expect(await conveyor('graduation')).toMatch(/demo\/docs: graduating 1\/3: merges as never until then/);
  }, 120_000);
});
