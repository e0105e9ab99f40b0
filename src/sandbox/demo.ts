// The demo a newcomer sees in `npm run dev`: a repo with a CI check, three issues that take
// three different paths down the line, and a reviewer who approves green PRs.
import type { Logger } from 'pino';
import { branchForIssue } from '../domain/naming.js';
import type { Forge } from '../integrations/forge.js';
import type { Sandbox } from './sandbox.js';

export const DEMO_TEAM = 'DEMO';
export const DEMO_REPO = 'demo/widgets';
export const DEMO_OPERATOR = { name: 'Demo Operator', email: 'operator@example.com' };
/** The stand-in human who approves green PRs: a collaborator with write, so its approval counts. */
export const DEMO_REVIEWER = 'demo-reviewer';

const CHECK_SCRIPT = `#!/usr/bin/env bash
# The sandbox's CI: the demo agent leaves .conveyor/ci-should-fail on a first attempt that is
# meant to fail, and removes it when it gets the failure back as feedback.
set -euo pipefail
if [ -f .conveyor/ci-should-fail ]; then
  echo "check failed: $(cat .conveyor/ci-should-fail)"
  exit 1
fi
echo "all checks passed"
`;

export const DEMO_ISSUES = [
  {
    title: 'Add a greeting section to the README',
    priority: 2,
    description: `The README of widgets should greet new contributors and point them at the issue tracker, so that a first-time visitor knows where to start.

## Acceptance
- [ ] the README has a "Welcome" section
- [ ] it links the issue tracker`,
  },
  {
    title: 'Make it better',
    priority: 3,
    description: 'It is slow.',
  },
  {
    title: 'Add a changelog entry for the 1.2 release [demo:fail-ci-once]',
    priority: 1,
    description: `Record the 1.2 release in CHANGELOG.md with the date and the two fixes that went in, so that users upgrading can see what changed.

Done when CHANGELOG.md has a 1.2 section and CI is green.`,
  },
] as const;

export const DOCS_REPO = 'demo/docs';
export const OPS_TEAM = 'OPS';

const spec = (what: string, checks: string[]) => `${what}\n\n## Acceptance\n${checks.map((c) => `- [ ] ${c}`).join('\n')}`;

/**
 * A backlog for \`conveyor triage --all\`: one or more issues of each kind triage tells apart.
 * All sit in Backlog (not a ready state), so nothing starts until someone moves one to Todo;
 * the dry run judges each as if it were ready. Routing is instance.example's: DEMO's default
 * repo, docs → demo/docs, DEMO titles naming widgets → demo/widgets, OPS only by label infra.
 */
export const BACKLOG_ISSUES: ReadonlyArray<{ ref: string; team: string; title: string; description: string; labels?: string[]; priority?: number }> = [
  { ref: 'json-flag', team: DEMO_TEAM, title: 'Add a --json flag to the widgets CLI', priority: 2, description: spec('The widgets CLI prints a table only; scripts need the same data as JSON so they stop parsing columns.', ['`widgets list --json` prints an array of objects', 'the table output is unchanged']) },
  { ref: 'pagination', team: DEMO_TEAM, title: 'Fix the off-by-one in pagination', priority: 1, description: spec('The last item of every page is repeated as the first item of the next one when the page size divides the total.', ['no item appears on two pages', 'a test covers a total that is a multiple of the page size']) },
  { ref: 'clean-up', team: DEMO_TEAM, title: 'Clean up', description: 'Tidy things up.' },
  { ref: 'speed', team: DEMO_TEAM, title: 'Speed up rendering', description: 'Rendering feels slow on large lists and users have noticed it in the last two releases. It would be good to look into where the time goes and make it faster in general, for everyone.' },
  { ref: 'plugins', team: DEMO_TEAM, title: 'Choose a plugin architecture', labels: ['needs-design'], description: spec('Third parties want to ship their own renderers. Decide how plugins are found, loaded and versioned.', ['a design note is agreed']) },
  { ref: 'storage', team: DEMO_TEAM, title: 'Rewrite the storage layer', labels: ['reserved'], description: spec('Move storage from flat files to SQLite, keeping the on-disk format readable for one release.', ['old files still load', 'new files are SQLite']) },
  { ref: 'api-docs', team: DEMO_TEAM, title: 'Document the widgets API', labels: ['docs'], description: spec('Every public function of the widgets package gets a reference entry with one example.', ['each exported function is documented', 'examples run']) },
  { ref: 'guide', team: DEMO_TEAM, title: 'Write the getting-started guide', labels: ['docs'], description: spec('A newcomer should install the package and render a first widget in five minutes.', ['the guide covers install, first widget, next steps']) },
  { ref: 'faq', team: DEMO_TEAM, title: 'Add an FAQ page', labels: ['docs'], priority: 4, description: spec('Collect the five questions asked most often in issues and answer each in a paragraph.', ['five questions with answers', 'linked from the README']) },
  { ref: 'theming', team: DEMO_TEAM, title: 'Theme support for widgets', description: spec('Widgets take colours and spacing from a theme object instead of constants.', ['a theme can be passed at start', 'the default theme looks as today']) },
  { ref: 'dark-mode', team: DEMO_TEAM, title: 'Dark mode', description: spec('Ship a dark theme built on theme support, so people reading in the evening are not blinded by a white page.', ['a dark theme is selectable', 'contrast passes WCAG AA']) },
  { ref: 'yaml', team: DEMO_TEAM, title: 'Move settings to YAML', description: spec('Settings move from INI to YAML, read by one loader, so nested options stop being encoded in dotted key names.', ['YAML settings load', 'INI settings are converted once']) },
  { ref: 'ini', team: DEMO_TEAM, title: 'Drop the INI reader', description: spec('Once settings are YAML, remove the INI reader and its tests: two formats mean two sets of bugs and docs.', ['no INI code is left']) },
  { ref: 'cache-key', team: OPS_TEAM, title: 'Rotate the CI cache key', description: spec('The CI cache key still includes the old lockfile name, so every run misses the cache.', ['the key uses package-lock.json', 'a second run hits the cache']) },
  { ref: 'node-pin', team: OPS_TEAM, title: 'Pin the Node version in CI', labels: ['infra'], description: spec('CI takes whatever Node the runner image happens to have; pin it to 20 so builds are reproducible from one week to the next.', ['CI uses Node 20', '.nvmrc says 20']) },
];

/** The second repo of instance.example, empty: its history comes with the backlog. */
async function ensureDocsRepo(sandbox: Sandbox, logger?: Logger): Promise<void> {
  if (!sandbox.config.factory.repos.some((r) => r.name === DOCS_REPO)) return;
  await sandbox.github
    .createRepo({ owner: 'demo', name: 'docs', defaultBranch: 'main', collaborators: { [DEMO_REVIEWER]: 'write' }, files: { 'README.md': '# docs\n\nUser documentation for widgets.\n' } })
    .catch((err: unknown) => logger?.debug({ err: (err as Error).message }, `${DOCS_REPO} not created (it exists already)`));
}

/** Seeds the backlog once (it goes with the OPS team); returns whether it did. */
export async function seedBacklog(sandbox: Sandbox, logger: Logger): Promise<boolean> {
  if (sandbox.linear.state().data.teams.some((t) => t.key === OPS_TEAM)) return false;
  if (!sandbox.linear.state().data.teams.some((t) => t.key === DEMO_TEAM)) return false;
  const repos = sandbox.config.factory.repos.map((r) => r.name);
  sandbox.linear.createTeam({ key: OPS_TEAM, name: 'Operations' });
  for (const label of ['docs', 'infra']) sandbox.linear.createLabel({ name: label });
  const created = new Map<string, { id: string; key: string }>();
  for (const issue of BACKLOG_ISSUES) {
    const made = sandbox.linear.createIssue({ teamKey: issue.team, title: issue.title, description: issue.description, priority: issue.priority ?? 3, labels: ['conveyor', ...(issue.labels ?? [])], stateName: 'Backlog' });
    created.set(issue.ref, { id: made.id, key: made.key });
  }
  const key = (ref: string) => created.get(ref)!.key;
  // Blockers: human work in progress, a chain, and a cycle no one can finish first.
  const tokens = sandbox.linear.createIssue({ teamKey: DEMO_TEAM, title: 'Design tokens for themes', description: 'Designers pick the palette and spacing scale.', stateName: 'In Progress' });
  sandbox.linear.createRelation({ issue: tokens.key, relatedIssue: key('theming'), type: 'blocks' });
  sandbox.linear.createRelation({ issue: key('theming'), relatedIssue: key('dark-mode'), type: 'blocks' });
  sandbox.linear.createRelation({ issue: key('yaml'), relatedIssue: key('ini'), type: 'blocks' });
  sandbox.linear.createRelation({ issue: key('ini'), relatedIssue: key('yaml'), type: 'blocks' });

  // demo/docs: its history shows graduation (one factory PR merged clean by a human, one
  // reverted after), and the guide's factory PR is already open.
  if (repos.includes(DOCS_REPO)) {
    const merged = async (branch: string, title: string, files: Record<string, string>) => {
      await sandbox.github.commitFiles(DOCS_REPO, { branch, files, message: title });
      const pr = (await sandbox.github.openPull(DOCS_REPO, { head: branch, title })) as { number: number };
      await sandbox.github.mergePull(DOCS_REPO, pr.number, { user: DEMO_REVIEWER });
      return pr.number;
    };
    await merged('conveyor/demo-90-00000000-0000-4000-8000-000000000090', 'DEMO-90: Add the install page', { 'install.md': '# Install\n\nnpm install widgets\n' });
    const reverted = await merged('conveyor/demo-91-00000000-0000-4000-8000-000000000091', 'DEMO-91: Add the upgrade notes', { 'upgrade.md': '# Upgrading\n' });
    await sandbox.github.commitFiles(DOCS_REPO, { branch: 'revert-upgrade-notes', files: { 'upgrade.md': '' }, message: 'Revert the upgrade notes', user: DEMO_REVIEWER });
    const revert = (await sandbox.github.openPull(DOCS_REPO, { head: 'revert-upgrade-notes', title: 'Revert "DEMO-91: Add the upgrade notes"', body: `Reverts #${reverted}: the notes described the wrong version.`, user: DEMO_REVIEWER })) as { number: number };
    await sandbox.github.mergePull(DOCS_REPO, revert.number, { user: DEMO_REVIEWER });
    const guide = created.get('guide')!;
    const branch = branchForIssue(guide.key, guide.id);
    await sandbox.github.commitFiles(DOCS_REPO, { branch, files: { 'guide.md': '# Getting started\n' }, message: `${guide.key}: Write the getting-started guide` });
    await sandbox.github.openPull(DOCS_REPO, { head: branch, title: `${guide.key}: Write the getting-started guide` });
  }
  logger.info({ issues: BACKLOG_ISSUES.length, team: OPS_TEAM }, 'backlog for conveyor triage --all seeded');
  return true;
}

/** Seeds the demo once; a sandbox that already has the team is left as it is. With `backlog`
 * (what `conveyor dev` asks for), the backlog for `conveyor triage --all` too, now or later. */
export async function seedDemo(sandbox: Sandbox, logger: Logger, options: { backlog?: boolean } = {}): Promise<boolean> {
  if (sandbox.linear.state().data.teams.some((t) => t.key === DEMO_TEAM)) {
    // A sandbox seeded before reviewers needed write access: grant it, or no approval counts.
    await sandbox.github.setCollaborator(DEMO_REPO, DEMO_REVIEWER, 'write').catch((err: unknown) => logger.warn({ err: (err as Error).message }, `could not give ${DEMO_REVIEWER} write access to ${DEMO_REPO}`));
    await ensureDocsRepo(sandbox, logger);
    // A sandbox seeded before the backlog existed gets it now.
    if (options.backlog) await seedBacklog(sandbox, logger).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not seed the backlog'));
    return false;
  }
  await seedDemoRepo(sandbox, logger);
  for (const issue of DEMO_ISSUES) {
    const created = sandbox.linear.createIssue({ teamKey: DEMO_TEAM, title: issue.title, description: issue.description, priority: issue.priority, labels: ['conveyor'], stateName: 'Todo' });
    logger.info({ issue: created.key }, 'demo issue created');
  }
  if (options.backlog) await seedBacklog(sandbox, logger);
  return true;
}

/** The demo's repo (with its CI check and a reviewer who has write access), team, operator and
 * labels, without issues: tests that file issues of their own start from here. */
export async function seedDemoRepo(sandbox: Sandbox, logger?: Logger): Promise<void> {
  await sandbox.github.createRepo({
    owner: 'demo',
    name: 'widgets',
    defaultBranch: 'main',
    collaborators: { [DEMO_REVIEWER]: 'write' },
    files: {
      'README.md': '# widgets\n\nA small library of widgets.\n',
      'CHANGELOG.md': '# Changelog\n\n## 1.1\n- first public release\n',
      '.conveyor/check.sh': CHECK_SCRIPT,
    },
  });
  await sandbox.github.setBranchProtection(DEMO_REPO, 'main', { requiredChecks: ['conveyor/ci'] });
  await ensureDocsRepo(sandbox, logger);
  sandbox.linear.createTeam({ key: DEMO_TEAM, name: 'Demo' });
  sandbox.linear.createUser(DEMO_OPERATOR);
  for (const label of ['conveyor', 'conveyor-e2e', 'conveyor-blocked', 'needs-design', 'reserved']) sandbox.linear.createLabel({ name: label });
}

/**
 * A stand-in for the human reviewer: approves an open factory PR once its required checks
 * are green on the current head. Runs only in the sandbox.
 */
export function startDemoReviewer(options: { sandbox: Sandbox; forge: Forge; logger: Logger; intervalMs?: number }): { stop(): void } {
  const approved = new Set<string>();
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      for (const repo of options.sandbox.config.factory.repos.map((r) => r.name)) {
        for (const pr of await options.forge.listOpenPullRequests(repo, 'conveyor/')) {
          const key = `${repo}#${pr.number}@${pr.headSha}`;
          if (approved.has(key)) continue;
          const checks = await options.forge.getChecks(repo, pr.headSha, pr.baseRef);
          if (checks.state !== 'success') continue;
          await options.sandbox.github.approve(repo, pr.number, { user: DEMO_REVIEWER, body: 'Looks good to me (the sandbox demo reviewer).' });
          approved.add(key);
          options.logger.info({ pr: `${repo}#${pr.number}` }, 'demo reviewer approved');
        }
      }
    } catch (err) {
      options.logger.debug({ err: (err as Error).message }, 'demo reviewer tick failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), options.intervalMs ?? 2_000);
  return { stop: () => clearInterval(timer) };
}
