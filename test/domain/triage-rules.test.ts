// Triage's rules one at a time, with the words a human reads: when an issue is too thin, when
// it is ready, which rule conditions hold, what routing says when it cannot decide, and the
// order the triage decisions are tried in. Pure: no tracker, no Temporal.
import { describe, expect, it } from 'vitest';
import { factorySchema, type FactoryConfig } from '../../src/config/factory-schema.js';
import type { PullRequest, TrackerIssue } from '../../src/domain/issue.js';
import type { RouteTrace } from '../../src/domain/routing.js';
import { describeRoute, explainRoute, isReadyForFactory, isThin, routeIssue, triage } from '../../src/domain/triage.js';

const SPEC = `The widget renderer must stop dropping frames when the list is longer than a screen.

## Acceptance
- [ ] scrolling 1,000 rows stays at 60 fps`;

function config(overrides: { routing?: unknown[]; defaultRepo?: string | null; policies?: Record<string, unknown> } = {}): FactoryConfig {
  return factorySchema.parse({
    tracker: {
      teams: [
        { key: 'ENG', readyState: 'Ready for Agent', inProgressState: 'Doing', inReviewState: 'Reviewing', doneState: 'Shipped', ...(overrides.defaultRepo === null ? {} : { defaultRepo: overrides.defaultRepo ?? 'acme/widgets' }) },
        { key: 'OPS' },
      ],
    },
    repos: [{ name: 'acme/widgets', baseBranch: 'trunk', mergePolicy: 'on-green-with-review' }, { name: 'acme/docs' }, { name: 'acme/infra' }],
    routing: overrides.routing ?? [],
    agents: { default: 'claude', providers: { claude: { command: ['claude'] }, codex: { command: ['codex'] } } },
    ...(overrides.policies ? { policies: overrides.policies } : {}),
  });
}
// Written out rather than taken from the scripted line's helpers: those load the Temporal
// client, and this file runs once per mutant under `npm run mutation`.
let issues = 0;
function issue(overrides: Partial<TrackerIssue> = {}): TrackerIssue {
  issues += 1;
  return {
    id: `00000000-0000-4000-8000-${String(issues).padStart(12, '0')}`,
    key: `ENG-${issues}`,
    title: `Issue ${issues}`,
    description: SPEC,
    url: `https://linear.example/eng/issue/ENG-${issues}`,
    team: { id: 'team-eng', key: 'ENG' },
    project: null,
    labels: ['conveyor'],
    priority: 2,
    state: { name: 'Todo', type: 'unstarted' },
    assignee: null,
    createdAt: '2026-11-30T00:00:00.000Z',
    updatedAt: '2026-11-30T00:00:00.000Z',
    ...overrides,
  };
}
const pr = (patch: Partial<PullRequest> = {}): PullRequest => ({ number: 9, url: 'https://gh/acme/widgets/pull/9', repo: 'acme/widgets', headRef: 'conveyor/eng-1-x', headSha: 'a'.repeat(40), baseRef: 'trunk', state: 'open', merged: false, draft: false, mergeable: true, ...patch });
const padded = (text: string) => `${text}\n${'Context that explains the problem in enough words. '.repeat(4)}`;

describe('a thin issue', () => {
  it('is one whose description is shorter than the minimum, said with both numbers', () => {
    expect(isThin(issue({ description: '  Fix it. Done when it works.  ' }), 140)).toBe('the description has 27 characters; at least 140 are needed');
  });

  it('is not one whose description has exactly the minimum and an acceptance signal', () => {
    const description = 'Done when x'.padEnd(40, '.');
    expect(description).toHaveLength(40);
    expect(isThin(issue({ description }), 40)).toBeNull();
    expect(isThin(issue({ description: description.slice(1) }), 40)).toBe('the description has 39 characters; at least 40 are needed');
  });

  it('is one with enough words but no acceptance signal', () => {
    expect(isThin(issue({ description: padded('We need acceptance from legal before the launch.') }), 20)).toBe(
      'the description has no acceptance signal (an "Acceptance" heading or line, a checklist, or "done when")',
    );
  });

  it.each([
    ['a heading', '## Acceptance'],
    ['a deep heading', '###### acceptance criteria'],
    ['a heading without a space', '#Acceptance'],
    ['a line', 'Acceptance: the page loads'],
    ['an indented line', '   ACCEPTANCE criteria below'],
    ['an unchecked box', '- [ ] the page loads'],
    ['a checked box', '* [x] the page loads'],
    ['a box checked in capitals', '  - [X] the page loads'],
    ['a box tight against its marker', '-[ ] the page loads'],
    ['"done when" anywhere', 'This is finished. Done When the page loads'],
  ])('is not one with %s', (_, line) => {
    expect(isThin(issue({ description: padded(line) }), 20)).toBeNull();
  });

  it.each([
    ['a heading that is not about acceptance', '## Background'],
    ['seven hashes', '####### Acceptance'],
    ['a box without a list marker', '[ ] the page loads'],
    ['a box with another mark', '- [y] the page loads'],
    ['"acceptance" in the middle of a line', 'Ask for acceptance of the terms.'],
    ['"acceptance" inside a word at the start of a line', 'Preacceptance of the terms is pending.'],
    ['a box in the middle of a line', 'see the list - [ ] below'],
    ['a box after a word at the start of a line', 'a-[ ] b'],
    ['"done" and "when" apart', 'Done, and when it works, tell us'],
  ])('is one with only %s', (_, line) => {
    expect(isThin(issue({ description: padded(line) }), 20)).not.toBeNull();
  });
});

describe('readiness for the factory', () => {
  const c = config();
  const view = (patch: Partial<{ team: { key: string }; labels: string[]; state: { name: string; type: string } }> = {}) => ({ team: { key: 'ENG' }, labels: ['conveyor'], state: { name: 'Backlog', type: 'unstarted' }, ...patch });

  it('needs an allowlisted team, and says which team is not', () => {
    expect(isReadyForFactory(view({ team: { key: 'HR' } }), c)).toBe('team HR is not on the allowlist');
  });

  it('needs the ready label, and names it', () => {
    expect(isReadyForFactory(view({ labels: ['Conveyor-ish', 'bug'] }), c)).toBe('the issue is not labelled "conveyor"');
  });

  it("takes any unstarted state, or the team's ready state by name whatever its type", () => {
    expect(isReadyForFactory(view(), c)).toBeNull();
    expect(isReadyForFactory(view({ state: { name: 'Ready for Agent', type: 'started' } }), c)).toBeNull();
    expect(isReadyForFactory(view({ state: { name: 'In Progress', type: 'started' } }), c)).toBe('the issue is in "In Progress", not a ready state');
    expect(isReadyForFactory(view({ state: { name: 'Todo', type: 'backlog' } }), c)).toBe('the issue is in "Todo", not a ready state');
  });
});

describe('routing conditions', () => {
  it('need every label of a rule, its single label and its label list together, in any case', () => {
    const c = config({ routing: [{ label: 'infra', labels: ['CI'], repo: 'acme/infra' }], defaultRepo: null });
    expect(explainRoute(issue({ labels: ['conveyor', 'Infra', 'ci'] }), c).fired).toEqual([{ rule: 0, repo: 'acme/infra', agent: null, conditions: ['label "infra"', 'label "CI"'] }]);
    expect(explainRoute(issue({ labels: ['conveyor', 'infra'] }), c).fired).toEqual([]);
    expect(explainRoute(issue({ labels: ['conveyor', 'ci'] }), c).fired).toEqual([]);
  });

  it('match the team key exactly, and the project by name in any case', () => {
    const c = config({ routing: [{ team: 'ENG', project: 'Docs Site', repo: 'acme/docs' }], defaultRepo: null });
    expect(explainRoute(issue({ project: 'DOCS SITE' }), c).fired[0]?.conditions).toEqual(['team ENG', 'project "Docs Site"']);
    expect(explainRoute(issue({ project: 'Docs' }), c).fired).toEqual([]);
    expect(explainRoute(issue({ project: 'Docs Site', team: { id: 't', key: 'eng' } }), c).fired).toEqual([]);
  });

  it('match title and description patterns in any case, and only where they apply', () => {
    const c = config({ routing: [{ titlePattern: 'terraform', repo: 'acme/infra' }, { descriptionPattern: 'MARKDOWN', repo: 'acme/docs' }], defaultRepo: null });
    expect(explainRoute(issue({ title: 'Bump Terraform' }), c).fired.map((m) => m.conditions)).toEqual([['title /terraform/']]);
    expect(explainRoute(issue({ title: 'Bump it', description: `${SPEC}\nterraform is mentioned here only` }), c).fired).toEqual([]);
    expect(explainRoute(issue({ title: 'Fix markdown', description: `${SPEC}\nrender the markdown` }), c).fired.map((m) => m.conditions)).toEqual([['description /MARKDOWN/']]);
  });

  it('carry the rule\'s agent into the trace, and null when it names none', () => {
    const c = config({ routing: [{ team: 'ENG', repo: 'acme/docs', agent: 'codex' }, { label: 'conveyor', repo: 'acme/docs' }], defaultRepo: null });
    expect(explainRoute(issue(), c).fired.map((m) => [m.rule, m.agent])).toEqual([
      [0, 'codex'],
      [1, null],
    ]);
  });
});

describe('routing that cannot decide', () => {
  it('names each repo once among the candidates of the team\'s rules', () => {
    const c = config({ routing: [{ team: 'ENG', label: 'a', repo: 'acme/docs' }, { team: 'ENG', label: 'b', repo: 'acme/docs' }, { team: 'OPS', label: 'c', repo: 'acme/infra' }], defaultRepo: null });
    expect(explainRoute(issue(), c)).toEqual({ repo: null, fired: [], defaultUsed: false, candidates: ['acme/docs'], problem: 'no-match' });
  });

  it('names each repo once among the candidates of disagreeing rules', () => {
    const c = config({ routing: [{ label: 'conveyor', repo: 'acme/docs' }, { team: 'ENG', repo: 'acme/infra' }, { titlePattern: '.', repo: 'acme/docs' }] });
    expect(explainRoute(issue(), c)).toMatchObject({ repo: null, defaultUsed: false, candidates: ['acme/docs', 'acme/infra'], problem: 'ambiguous' });
  });

  it('refuses a repo that is not under repos, naming the ones that are', () => {
    const c = config();
    const stale = { ...c, tracker: { ...c.tracker, teams: [{ ...c.tracker.teams[0]!, defaultRepo: 'acme/gone' }] } };
    const trace = explainRoute(issue(), stale);
    expect(trace).toEqual({ repo: null, fired: [], defaultUsed: true, candidates: ['acme/widgets', 'acme/docs', 'acme/infra'], problem: 'unknown-repo' });
    expect(routeIssue(issue(), stale, trace)).toBeNull();
  });

  it('is described with every rule, the candidates and what to do', () => {
    const fired = [{ rule: 0, repo: 'acme/docs', agent: null, conditions: ['label "docs"'] }, { rule: 2, repo: 'acme/infra', agent: null, conditions: ['team ENG', 'title /ci/'] }];
    const base: RouteTrace = { repo: null, fired, defaultUsed: false, candidates: ['acme/docs', 'acme/infra'], problem: 'ambiguous' };
    expect(describeRoute(base)).toBe(
      'routing rules disagree: rule 0 (label "docs" → acme/docs); rule 2 (team ENG, title /ci/ → acme/infra); candidates: acme/docs, acme/infra. Make the rules exclusive (add a condition) or edit the issue so one applies',
    );
    expect(describeRoute({ ...base, fired: [], problem: 'no-match' })).toBe(
      'no routing rule matches this issue and its team has no defaultRepo; candidates: acme/docs, acme/infra. Add a routing rule (team, project, labels, titlePattern, descriptionPattern), set defaultRepo on the team, or edit the issue (a label or project) so a rule applies',
    );
    expect(describeRoute({ ...base, fired: [], problem: 'unknown-repo', repo: 'acme/gone' })).toBe('routing chose acme/gone which is not under repos; candidates: acme/docs, acme/infra');
    expect(describeRoute({ ...base, fired: [], problem: 'unknown-repo' })).toBe('routing chose a repo which is not under repos; candidates: acme/docs, acme/infra');
    expect(describeRoute({ repo: 'acme/widgets', fired: [], defaultUsed: true, candidates: [], problem: null })).toBe("no routing rule fired; the team's defaultRepo acme/widgets was used");
  });
});

describe('routing that decides', () => {
  it("uses only the issue's own team's defaultRepo", () => {
    expect(explainRoute(issue({ team: { id: 't2', key: 'OPS' } }), config())).toMatchObject({ repo: null, problem: 'no-match', defaultUsed: false });
  });

  it('names no candidates when it routed', () => {
    expect(explainRoute(issue(), config())).toEqual({ repo: 'acme/widgets', fired: [], defaultUsed: true, candidates: [], problem: null });
  });

  it('gives no routing for a trace naming a repo that is not configured', () => {
    expect(routeIssue(issue(), config(), { repo: 'acme/gone', fired: [], defaultUsed: false, candidates: [], problem: null })).toBeNull();
  });
});

describe('the routing an issue gets', () => {
  it("carries the repo's base branch and merge policy, the default agent and the team's states", () => {
    expect(routeIssue(issue(), config())).toEqual({
      repo: 'acme/widgets',
      baseBranch: 'trunk',
      mergePolicy: 'on-green-with-review',
      agent: 'claude',
      synthetic: false,
      states: { ready: 'Ready for Agent', inProgress: 'Doing', inReview: 'Reviewing', done: 'Shipped' },
    });
  });

  it('is synthetic only for the synthetic label', () => {
    expect(routeIssue(issue({ labels: ['conveyor', 'conveyor-e2e'] }), config())?.synthetic).toBe(true);
  });

  it('is none for a team off the allowlist, even when a rule names a repo', () => {
    const c = config({ routing: [{ label: 'conveyor', repo: 'acme/docs' }] });
    expect(routeIssue(issue({ team: { id: 't', key: 'HR' } }), c)).toBeNull();
  });
});

describe('the order of triage decisions', () => {
  it('ignores an issue that is not ready before anything else, saying why, with no routing', () => {
    expect(triage(issue({ labels: ['reserved'], description: 'x' }), config(), null)).toEqual({
      decision: 'ignore',
      reason: 'the issue is not labelled "conveyor"',
      issue: expect.objectContaining({ labels: ['reserved'] }),
      routing: null,
      overridable: false,
      category: 'not-ready',
    });
  });

  it('ignores an issue with an open or merged factory PR, naming it, before reserved labels', () => {
    for (const existing of [pr(), pr({ state: 'closed', merged: true })]) {
      const result = triage(issue({ labels: ['conveyor', 'reserved'] }), config(), { existingPr: existing });
      expect(result).toMatchObject({ decision: 'ignore', reason: 'the issue already has a factory PR: https://gh/acme/widgets/pull/9', overridable: false, category: 'has-pr', routing: { repo: 'acme/widgets' } });
    }
  });

  it('takes a PR given on its own as the existing PR (callers from before the context)', () => {
    expect(triage(issue(), config(), pr()).category).toBe('has-pr');
  });

  it('triages again an issue whose factory PR was closed without merge', () => {
    expect(triage(issue(), config(), pr({ state: 'closed' }))).toMatchObject({ decision: 'dispatch', category: 'dispatchable' });
  });

  it('escalates reserved labels, naming each, before routing or thinness', () => {
    const result = triage(issue({ labels: ['conveyor', 'needs-design', 'bug', 'reserved'], description: 'x' }), config({ defaultRepo: null }), null);
    expect(result).toMatchObject({ decision: 'escalate', reason: 'the issue is reserved for humans (label "needs-design", "reserved")', overridable: false, category: 'reserved', routing: null });
  });

  it('escalates an unroutable issue before a blocked or thin one', () => {
    const result = triage(issue({ description: 'x' }), config({ defaultRepo: null }), { existingPr: null, blockedBy: [{ id: 'b', key: 'ENG-1', state: 'Todo' }] });
    expect(result).toMatchObject({ decision: 'escalate', category: 'unroutable', routing: null, overridable: false });
    expect(result.reason).toMatch(/^no routing rule matches this issue/);
  });

  it('names every blocker and waits for all of them', () => {
    const blockedBy = [
      { id: 'b1', key: 'ENG-7', state: 'In Progress' },
      { id: 'b2', key: 'OPS-2', state: 'Todo' },
    ];
    expect(triage(issue(), config(), { existingPr: null, blockedBy }).reason).toBe('the issue is blocked by ENG-7 (In Progress), OPS-2 (Todo); it starts when they are done');
  });

  it('escalates a thin issue as overridable, with the thin reason, under the configured minimum', () => {
    const result = triage(issue({ description: 'Done when it works, please.' }), config({ policies: { thinDescriptionChars: 10 } }), null);
    expect(result).toMatchObject({ decision: 'dispatch' });
    const thin = triage(issue({ description: 'Done when it works, please.' }), config(), null);
    expect(thin).toMatchObject({ decision: 'escalate', overridable: true, category: 'thin', reason: 'the issue is too thin to dispatch: the description has 27 characters; at least 140 are needed' });
  });

  it('dispatches with the repo, the agent and the route in its reason', () => {
    const result = triage(issue({ labels: ['conveyor', 'docs'] }), config({ routing: [{ label: 'docs', repo: 'acme/docs', agent: 'codex' }] }), null);
    expect(result).toMatchObject({ decision: 'dispatch', overridable: false, category: 'dispatchable' });
    expect(result.reason).toBe('routed to acme/docs (agent codex): routed to acme/docs by rule 0 (label "docs" → acme/docs)');
    expect(result.graduating).toBeUndefined();
  });

  it('says a graduating repo merges as never, and nothing about graduation once it graduated', () => {
    const graduation = { repo: 'acme/widgets', merged: 2, needed: 3 };
    expect(triage(issue(), config(), { existingPr: null, graduation }).reason).toBe(
      "routed to acme/widgets (agent claude): no routing rule fired; the team's defaultRepo acme/widgets was used; merges as never while graduating 2/3",
    );
    expect(triage(issue(), config(), { existingPr: null, graduation: { ...graduation, merged: 4 } }).reason).toBe("routed to acme/widgets (agent claude): no routing rule fired; the team's defaultRepo acme/widgets was used");
  });

  it('says nothing about graduation for a repo that never merges itself', () => {
    const result = triage(issue({ labels: ['conveyor', 'docs'] }), config({ routing: [{ label: 'docs', repo: 'acme/docs' }] }), { existingPr: null, graduation: { repo: 'acme/docs', merged: 0, needed: 3 } });
    expect(result.reason).toBe('routed to acme/docs (agent claude): routed to acme/docs by rule 0 (label "docs" → acme/docs)');
    expect(result.graduating).toBeUndefined();
  });

  it('shows graduation only on an issue that gets a routing', () => {
    const graduation = { repo: 'acme/widgets', merged: 0, needed: 3 };
    const result = triage(issue(), config({ defaultRepo: null }), { existingPr: null, graduation });
    expect(result.category).toBe('unroutable');
    expect(result.graduating).toBeUndefined();
  });
});
