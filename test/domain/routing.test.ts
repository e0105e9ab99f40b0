// Routing has no silent default: each rule kind sends an issue to its repo, no match or two
// matches escalate with the candidates named (and an approval cannot override it), and a
// team's defaultRepo is used only when an installation opts in, saying so.
import { describe, expect, it } from 'vitest';
import { factorySchema, type FactoryConfig } from '../../src/config/factory-schema.js';
import { triageVerdict } from '../../src/workflows/issue/triage.js';
import { describeRoute, effectiveMergePolicy, explainRoute, triage } from '../../src/domain/triage.js';
import { makeIssue } from '../helpers/line-inputs.js';

const SPEC = `The widget renderer must stop dropping frames when the list is longer than a screen.

## Acceptance
- [ ] scrolling 1,000 rows stays at 60 fps`;

function config(overrides: { routing?: unknown[]; defaultRepo?: string | null } = {}): FactoryConfig {
  return factorySchema.parse({
    tracker: {
      teams: [
        { key: 'ENG', ...(overrides.defaultRepo === null ? {} : { defaultRepo: overrides.defaultRepo ?? 'acme/widgets' }) },
        { key: 'OPS' },
      ],
    },
    repos: [{ name: 'acme/widgets', mergePolicy: 'on-green-with-review' }, { name: 'acme/docs' }, { name: 'acme/infra' }],
    routing: overrides.routing ?? [],
    agents: { default: 'claude', providers: { claude: { command: ['claude'] }, codex: { command: ['codex'] } } },
  });
}

const issue = (overrides: Parameters<typeof makeIssue>[0] = {}) => makeIssue({ description: SPEC, ...overrides });

describe('routing rules', () => {
  it.each([
    ['team', { team: 'OPS', repo: 'acme/infra' }, { team: { id: 't2', key: 'OPS' } }, 'team OPS'],
    ['project', { project: 'Docs site', repo: 'acme/docs' }, { project: 'docs site' }, 'project "Docs site"'],
    ['label', { label: 'docs', repo: 'acme/docs' }, { labels: ['conveyor', 'Docs'] }, 'label "docs"'],
    ['labels (all of them)', { labels: ['infra', 'ci'], repo: 'acme/infra' }, { labels: ['conveyor', 'infra', 'ci'] }, 'label "ci"'],
    ['titlePattern', { titlePattern: '^docs?:', repo: 'acme/docs' }, { title: 'Docs: explain the cache' }, 'title /^docs?:/'],
    ['descriptionPattern', { descriptionPattern: 'terraform', repo: 'acme/infra' }, { description: `${SPEC}\nTouches the Terraform module.` }, 'description /terraform/'],
  ])('a %s rule routes the issue to its repo and is named in the trace', (_, rule, fields, condition) => {
    const c = config({ routing: [rule], defaultRepo: null });
    const result = triage(issue(fields as Parameters<typeof makeIssue>[0]), c, null);
    expect(result).toMatchObject({ decision: 'dispatch', routing: { repo: rule.repo }, category: 'dispatchable' });
    expect(result.route).toMatchObject({ repo: rule.repo, defaultUsed: false, problem: null, fired: [{ rule: 0, repo: rule.repo }] });
    expect(result.route!.fired[0]!.conditions).toContain(condition);
  });

  it('a rule fires only when every one of its conditions holds', () => {
    const c = config({ routing: [{ team: 'ENG', labels: ['infra', 'ci'], repo: 'acme/infra' }], defaultRepo: null });
    expect(explainRoute(issue({ labels: ['conveyor', 'infra'] }), c)).toMatchObject({ repo: null, fired: [], problem: 'no-match' });
    expect(explainRoute(issue({ team: { id: 't2', key: 'OPS' }, labels: ['conveyor', 'infra', 'ci'] }), c).fired).toEqual([]);
    expect(explainRoute(issue({ project: null }), config({ routing: [{ project: 'Docs', repo: 'acme/docs' }], defaultRepo: null })).fired).toEqual([]);
  });

  it('no match and no defaultRepo escalates, naming the candidates, and an approval cannot override it', () => {
    const c = config({ routing: [{ team: 'ENG', label: 'docs', repo: 'acme/docs' }, { team: 'ENG', label: 'infra', repo: 'acme/infra' }], defaultRepo: null });
    const result = triage(issue(), c, null);
    expect(result).toMatchObject({ decision: 'escalate', overridable: false, routing: null, category: 'unroutable', route: { problem: 'no-match', candidates: ['acme/docs', 'acme/infra'] } });
    expect(result.reason).toMatch(/no routing rule matches this issue and its team has no defaultRepo; candidates: acme\/docs, acme\/infra/);
    expect(triageVerdict(result, { approved: true }).kind).toBe('escalate');
  });

  it('names every configured repo when the team has no rules at all', () => {
    expect(explainRoute(issue(), config({ defaultRepo: null })).candidates).toEqual(['acme/widgets', 'acme/docs', 'acme/infra']);
  });

  it('two rules naming different repos escalate as ambiguous, with both rules and repos named, even when a default exists', () => {
    const c = config({ routing: [{ label: 'docs', repo: 'acme/docs' }, { titlePattern: 'widget', repo: 'acme/widgets' }] });
    const result = triage(issue({ labels: ['conveyor', 'docs'], title: 'Document the widget API' }), c, null);
    expect(result).toMatchObject({ decision: 'escalate', overridable: false, category: 'unroutable', route: { problem: 'ambiguous', candidates: ['acme/docs', 'acme/widgets'], defaultUsed: false } });
    expect(result.reason).toMatch(/routing rules disagree: rule 0 \(label "docs" → acme\/docs\); rule 1 \(title \/widget\/ → acme\/widgets\)/);
  });

  it('two rules naming the same repo route there, with both listed; the first rule with an agent picks it', () => {
    const c = config({ routing: [{ label: 'docs', repo: 'acme/docs' }, { team: 'ENG', label: 'docs', repo: 'acme/docs', agent: 'codex' }], defaultRepo: null });
    const result = triage(issue({ labels: ['conveyor', 'docs'] }), c, null);
    expect(result).toMatchObject({ decision: 'dispatch', routing: { repo: 'acme/docs', agent: 'codex' } });
    expect(result.route!.fired.map((m) => m.rule)).toEqual([0, 1]);
  });

  it('uses the team defaultRepo only when no rule fires, and says so', () => {
    const c = config({ routing: [{ label: 'docs', repo: 'acme/docs' }] });
    const result = triage(issue(), c, null);
    expect(result).toMatchObject({ decision: 'dispatch', routing: { repo: 'acme/widgets', agent: 'claude' }, route: { defaultUsed: true, fired: [] } });
    expect(result.reason).toMatch(/defaultRepo acme\/widgets was used/);
    expect(triage(issue({ labels: ['conveyor', 'docs'] }), c, null).route).toMatchObject({ repo: 'acme/docs', defaultUsed: false });
  });

  it('describes a routed issue by the rules that fired', () => {
    const trace = explainRoute(issue({ labels: ['conveyor', 'docs'] }), config({ routing: [{ label: 'docs', repo: 'acme/docs' }] }));
    expect(describeRoute(trace)).toBe('routed to acme/docs by rule 0 (label "docs" → acme/docs)');
  });
});

describe('blocked issues and graduation in triage', () => {
  it('a blocked issue escalates as blocked, not overridable, even when it is also thin', () => {
    const blockedBy = [{ id: 'b1', key: 'ENG-7', state: 'In Progress' }];
    const result = triage(issue({ description: 'short' }), config(), { existingPr: null, blockedBy });
    expect(result).toMatchObject({ decision: 'escalate', overridable: false, category: 'blocked', blockedBy });
    expect(result.reason).toBe('the issue is blocked by ENG-7 (In Progress); it starts when it is done');
    expect(triageVerdict(result, { approved: true }).kind).toBe('escalate');
    expect(triage(issue(), config(), { existingPr: null, blockedBy: [] }).decision).toBe('dispatch');
  });

  it('a repo that has not graduated merges as never and says how far it is', () => {
    const graduation = { repo: 'acme/widgets', merged: 1, needed: 3 };
    const result = triage(issue(), config(), { existingPr: null, graduation });
    expect(result).toMatchObject({ decision: 'dispatch', routing: { mergePolicy: 'never' }, graduating: graduation });
    expect(result.reason).toMatch(/merges as never while graduating 1\/3/);
    const graduated = triage(issue(), config(), { existingPr: null, graduation: { ...graduation, merged: 3 } });
    expect(graduated.routing?.mergePolicy).toBe('on-green-with-review');
    expect(graduated.graduating).toBeUndefined();
  });

  it('graduation never loosens a repo whose policy is never', () => {
    expect(effectiveMergePolicy('never', { repo: 'r', merged: 5, needed: 3 })).toBe('never');
    expect(effectiveMergePolicy('on-green-with-review', null)).toBe('on-green-with-review');
    expect(effectiveMergePolicy('on-green-with-review', { repo: 'r', merged: 2, needed: 3 })).toBe('never');
  });
});
