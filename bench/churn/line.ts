// The line around the worker, in the bench's process, wired as src/sandbox/local-factory.ts
// wires `npm run dev` but without its worker: the Linear and GitHub emulators (with the sandbox's
// CI check on demo/widgets), the real gateway they send signed webhooks to, and the demo
// reviewer who approves green PRs. The worker is a `conveyor worker` child process
// (bench/worker-process.ts) on the same config; each cycle of an issue goes through all of it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { parse } from 'yaml';
import { blockedIssuesOf } from '../../src/activities/judgement.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { branchForIssue, issueWorkflowId } from '../../src/domain/naming.js';
import type { StartedGateway } from '../../src/gateway/server.js';
import { startSandboxGateway } from '../../src/sandbox/local-factory.js';
import { DEMO_REPO, DEMO_REVIEWER, DEMO_TEAM, seedDemoRepo, startDemoReviewer } from '../../src/sandbox/demo.js';
import { SANDBOX_CREDENTIALS, startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { connectClient } from '../../src/temporal/connection.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { buildIntegrations } from '../../src/workers/integrations.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import type { IssueRunState } from '../../src/workflows/state.js';
import { REPO_ROOT, writeWorkerRoot, type Tree } from '../worker-process.js';

/** Long and specific enough that triage dispatches it (DESIGN: not thin). */
const DESCRIPTION = `Keep a page in docs/ that says what this part of widgets does, revised each time the issue comes back, so the churn bench sends an agent through the whole line again.

## Acceptance
- [ ] the page exists and the agent committed a revision
- [ ] CI is green and the PR is merged`;

/**
 * The worker's factory.yaml: instance.example's, pointed at the emulators, with one fleet slot
 * (and one demo/widgets slot) per issue, so no issue queues for another, and the demo agent.
 */
function churnFactory(options: { linearUrl: string; githubUrl: string; gitUrl: string; slots: number }): Tree {
  const factory = parse(readFileSync(join(REPO_ROOT, 'instance.example/factory.yaml'), 'utf8')) as Tree;
  const names = ['ada', 'grace', 'linus', 'barbara', 'ken', 'margaret', 'edsger', 'donald', 'frances', 'john'];
  while (names.length < options.slots) names.push(`agent-${names.length + 1}`);
  return {
    ...factory,
    tracker: { ...(factory.tracker as Tree), apiUrl: options.linearUrl },
    forge: { ...(factory.forge as Tree), apiUrl: options.githubUrl, gitUrl: options.gitUrl },
    repos: (factory.repos as Tree[]).map((repo) => (repo.name === 'demo/widgets' ? { ...repo, slots: options.slots } : repo)),
    fleet: { ...(factory.fleet as Tree), slots: options.slots, agentNames: names.slice(0, Math.max(options.slots, 6)) },
    agents: { ...(factory.agents as Tree), default: 'demo', providers: { ...((factory.agents as Tree).providers as Tree), demo: { command: ['node', join(REPO_ROOT, 'scripts/demo-agent.mjs'), '{promptFile}'] } } },
  };
}

export interface ChurnIssue {
  id: string;
  key: string;
}

export interface CycleResult {
  outcome: string;
  reason: string | null;
  seconds: number;
}

export interface ChurnLine {
  /** The config the worker's root holds, as the gateway reads it. */
  config: Config;
  sandbox: Sandbox;
  client: Client;
  gateway: StartedGateway;
  createIssue(index: number): ChurnIssue;
  /** One pass of `issue` through the line: made ready (created, or re-readied), to its run's close. */
  cycle(issue: ChurnIssue, first: boolean, timeoutMs: number): Promise<CycleResult>;
  stop(): Promise<void>;
}

export async function startChurnLine(options: { base: Config; root: string; address: string; namespace: string; taskQueue: string; slots: number; logger: Logger }): Promise<ChurnLine> {
  const { logger } = options;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const stopAll = async () => {
    for (const step of cleanups.reverse()) await (async () => step())().catch(() => undefined);
  };
  try {
    const gatewayPort = await freePort();
    const githubDir = mkdtempSync(join(tmpdir(), 'conveyor-bench-churn-github-'));
    cleanups.push(() => rmSync(githubDir, { recursive: true, force: true }));
    const sandbox = await startSandbox({ config: options.base, dataDir: githubDir, gatewayUrl: `http://127.0.0.1:${gatewayPort}`, logger });
    cleanups.push(() => sandbox.close());
    writeWorkerRoot({ dir: options.root, address: options.address, namespace: options.namespace, taskQueue: options.taskQueue, metricsPort: await freePort(), factory: churnFactory({ linearUrl: sandbox.linear.url, githubUrl: sandbox.github.url, gitUrl: sandbox.github.webUrl, slots: options.slots }) });
    const env = { ...process.env, ...SANDBOX_CREDENTIALS };
    const config = loadConfig({ root: options.root, profile: 'sandbox', env });
    const client = await connectClient(config, env);
    cleanups.push(() => client.connection.close());
    // The bench's own clients (the reviewer's forge, the gateway's blocked-by reads), not the worker's.
    const integrations = buildIntegrations(config, env, logger);
    const gateway = await startSandboxGateway({ config, client, logger, port: gatewayPort, blockedBy: blockedIssuesOf(integrations.tracker) });
    cleanups.push(() => gateway.close());
    await seedDemoRepo(sandbox, logger);
    const reviewer = startDemoReviewer({ sandbox, forge: integrations.forge, logger, intervalMs: 1_000 });
    cleanups.push(() => reviewer.stop());

    const github = sandbox.github;
    const rest = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${github.url}${path}`, {
        method,
        headers: { authorization: `token ${SANDBOX_CREDENTIALS.GITHUB_TOKEN}`, 'content-type': 'application/json', accept: 'application/vnd.github+json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
    };

    /**
     * A merged factory PR makes triage leave a re-readied issue alone (DESIGN: "does nothing
     * when it … already has an open or merged factory PR"), rightly. To send the issue through
     * the whole line again, the bench plays a human who opens a follow-up PR on the issue's
     * branch and abandons it: the newest PR of the branch is then closed without merge, which
     * triage does not count. The branch is deleted again, so the next agent's push starts it fresh.
     */
    const abandonFollowUp = async (issue: ChurnIssue, cycle: number) => {
      const branch = branchForIssue(issue.key, issue.id);
      await github.commitFiles(DEMO_REPO, { branch, from: 'main', files: { [`.churn/${issue.key.toLowerCase()}.txt`]: `cycle ${cycle}\n` }, message: `Follow-up ${cycle} (abandoned)`, user: DEMO_REVIEWER });
      const pr = (await github.openPull(DEMO_REPO, { head: branch, title: `${issue.key}: follow-up ${cycle} (abandoned)`, user: DEMO_REVIEWER })) as { number: number };
      await rest('PATCH', `/repos/${DEMO_REPO}/pulls/${pr.number}`, { state: 'closed' });
      await rest('DELETE', `/repos/${DEMO_REPO}/git/refs/heads/${branch}`);
      // Its webhooks reach the gateway (and the closed run, which ignores them) before the next run starts.
      await github.idle();
    };

    const cycles = new Map<string, number>();
    const describeRun = async (workflowId: string) => {
      try {
        const d = await client.workflow.getHandle(workflowId).describe();
        return { runId: d.runId, status: d.status.name };
      } catch {
        return null;
      }
    };
    const explain = async (issue: ChurnIssue) => {
      try {
        const state = await client.workflow.getHandle(issueWorkflowId(issue.id)).query(issueStateQuery);
        return `its run is in phase ${state.phase}${state.reason ? ` (${state.reason})` : ''}`;
      } catch (err) {
        return `its run cannot be queried: ${(err as Error).message}`;
      }
    };

    return {
      config,
      sandbox,
      client,
      gateway,
      createIssue: (index) => {
        // Not ready yet (no label): the first cycle makes it ready as the later ones do.
        const issue = sandbox.linear.createIssue({ teamKey: DEMO_TEAM, title: `Churn page ${index + 1}`, description: DESCRIPTION, priority: 2, stateName: 'Todo' });
        return { id: issue.id, key: issue.key };
      },
      cycle: async (issue, first, timeoutMs) => {
        const workflowId = issueWorkflowId(issue.id);
        const n = (cycles.get(issue.id) ?? 0) + 1;
        cycles.set(issue.id, n);
        const before = first ? null : await describeRun(workflowId);
        if (!first) await abandonFollowUp(issue, n);
        const started = Date.now();
        // The ready webhook (Issue update) is what starts the run, as a human's edit would.
        if (first) sandbox.linear.updateIssue(issue.id, { labels: [config.factory.policies.readyLabel] });
        else sandbox.linear.updateIssue(issue.id, { stateName: config.factory.tracker.teams.find((t) => t.key === DEMO_TEAM)?.readyState ?? 'Todo', labels: [config.factory.policies.readyLabel] });
        let runId: string | undefined;
        while (!runId) {
          const d = await describeRun(workflowId);
          if (d && d.runId !== before?.runId) runId = d.runId;
          else if (Date.now() - started > timeoutMs) throw new Error(`${issue.key} cycle ${n}: no new run ${timeoutMs / 1000} s after the ready webhook`);
          else await new Promise((r) => setTimeout(r, 200));
        }
        const result = client.workflow.getHandle(workflowId, runId).result() as Promise<IssueRunState>;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => void explain(issue).then((why) => reject(new Error(`${issue.key} cycle ${n}: its run did not close within ${timeoutMs / 1000} s: ${why}`))), timeoutMs);
        });
        try {
          const state = await Promise.race([result, timeout]);
          return { outcome: state.outcome ?? 'none', reason: state.reason ?? null, seconds: (Date.now() - started) / 1000 };
        } finally {
          clearTimeout(timer);
        }
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
