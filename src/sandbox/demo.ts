// The demo a newcomer sees in `npm run dev`: a repo with a CI check, three issues that take
// three different paths down the line, and a reviewer who approves green PRs.
import type { Logger } from 'pino';
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

/** Seeds the demo once; a sandbox that already has the team is left as it is. */
export async function seedDemo(sandbox: Sandbox, logger: Logger): Promise<boolean> {
  if (sandbox.linear.state().data.teams.some((t) => t.key === DEMO_TEAM)) {
    // A sandbox seeded before reviewers needed write access: grant it, or no approval counts.
    await sandbox.github.setCollaborator(DEMO_REPO, DEMO_REVIEWER, 'write').catch((err: unknown) => logger.warn({ err: (err as Error).message }, `could not give ${DEMO_REVIEWER} write access to ${DEMO_REPO}`));
    return false;
  }
  await seedDemoRepo(sandbox);
  for (const issue of DEMO_ISSUES) {
    const created = sandbox.linear.createIssue({ teamKey: DEMO_TEAM, title: issue.title, description: issue.description, priority: issue.priority, labels: ['conveyor'], stateName: 'Todo' });
    logger.info({ issue: created.key }, 'demo issue created');
  }
  return true;
}

/** The demo's repo (with its CI check and a reviewer who has write access), team, operator and
 * labels, without issues: tests that file issues of their own start from here. */
export async function seedDemoRepo(sandbox: Sandbox): Promise<void> {
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
  sandbox.linear.createTeam({ key: DEMO_TEAM, name: 'Demo' });
  sandbox.linear.createUser(DEMO_OPERATOR);
  for (const label of ['conveyor', 'conveyor-e2e', 'needs-design', 'reserved']) sandbox.linear.createLabel({ name: label });
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
