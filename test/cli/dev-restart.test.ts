// A newcomer's `npm run dev` killed mid-agent (terminal closed, OOM killer): the whole process
// group dies with SIGKILL, but the Temporal dev server and the demo agent lead groups of their
// own and live on. Before this, the next `npm run dev` stopped at "Port … (Temporal) is in use …
// another npm run dev?" and the orphaned agent went on and committed with no worker watching.
// Now the next start stops the old server, kills the agent, and the demo finishes.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readDevRecord } from '../../src/cli/dev-record.js';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { agentEnvPrefix, processesWithEnvPrefix } from '../../src/integrations/leftover-agents.js';
import { isRunning } from '../../src/integrations/process-tree.js';
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/sandbox.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import { DEMO_AGENT, devPortEnv, freeDevPorts, makeTestRoot, runConveyor, type ConveyorProcess, type DevPorts, type TestRoot } from '../helpers/conveyor-root.js';
import { runReport } from '../helpers/run-report.js';
import { eventually } from '../helpers/temporal.js';

let root: TestRoot;
let ports: DevPorts;
let env: Record<string, string>;
const started: ConveyorProcess[] = [];

beforeAll(async () => {
  root = makeTestRoot('dev-restart', {
    factory: {
      // The demo agent; the first one to start (mkdir is atomic) first sits silent for a minute,
      // long enough to be killed mid-run. Its retry, and every other agent, runs at once.
      agents: { default: 'demo', providers: { demo: { command: ['sh', '-c', 'if mkdir "$2" 2>/dev/null; then sleep 60; fi; exec node "$1" "$0"', '{promptFile}', DEMO_AGENT, '{root}/.data/first-agent'] } } },
      // A dead worker's agent activity times out after three missed beats: 15 s. Not less: a
      // retry scheduled while the killed worker's long polls still stand on the old server can
      // be handed to one of them and lost (its attempts would run out as heartbeat timeouts).
      policies: { timeouts: { heartbeat: '5s' } },
    },
  });
  ports = await freeDevPorts();
  env = { ...devPortEnv(ports), TEMPORAL_CLI: inject('temporalCli'), CONVEYOR_LOG_LEVEL: 'warn' };
});

afterAll(async () => {
  for (const dev of started) {
    try {
      process.kill(-dev.child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const record = root ? readDevRecord(root.dir) : null;
  if (record?.temporal) {
    try {
      process.kill(record.temporal.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  root?.cleanup();
});

function dev(): ConveyorProcess {
  const process = runConveyor(['dev', '--root', root.dir], env);
  started.push(process);
  return process;
}

const READY = /Ctrl-C stops everything/;

describe('npm run dev after a killed npm run dev', () => {
  it('stops the dev server and the agent the killed run left, and the demo finishes', async () => {
    const workspaceRoot = join(root.dir, '.data/workspaces');
    const first = dev();
    await first.waitFor(READY);
    const agents = await eventually('the first demo agent sitting silent', async () => {
      const pids = await processesWithEnvPrefix(agentEnvPrefix(workspaceRoot));
      return existsSync(join(root.dir, '.data/first-agent')) && pids.length > 0 && pids;
    }, 60_000, 100);
    const record = readDevRecord(root.dir);
    expect(record?.dev.pid).toBe(first.child.pid);
    const oldServer = record!.temporal!.pid;

    // The whole group, as a closed terminal or the OOM killer would.
    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exited;
    // What the newcomer met: the server and the agent outlive the group.
    expect(await isRunning(oldServer)).toBe(true);
    expect((await Promise.all(agents.map(isRunning))).some(Boolean)).toBe(true);

    const second = dev();
    const output = await second.waitFor(READY);
    expect(output).toMatch(new RegExp(`stopping the Temporal dev server it left running \\(pid ${oldServer}`));
    expect(output).toMatch(/stopped \d+ agents? left running by an earlier npm run dev/);
    expect(output).not.toMatch(/is in use/);
    expect(await isRunning(oldServer)).toBe(false);
    for (const pid of agents) expect(await isRunning(pid)).toBe(false);
    expect(readDevRecord(root.dir)?.dev.pid).toBe(second.child.pid);

    // The demo finishes on the new worker: the killed attempts are retried.
    const state = (await (await fetch(`http://127.0.0.1:${ports.linear}/_sandbox/state`)).json()) as { data: { issues: Array<{ id: string; title: string }> } };
    const id = (title: RegExp) => state.data.issues.find((issue) => title.test(issue.title))!.id;
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    try {
      const client = new Client({ connection });
      // Up to 4 minutes: each run the killed worker held waits out a timeout before the new worker
      // takes it (its agent's heartbeat, 15 s; a workflow task in flight, triage and lease claim
      // included, 10 s; a PR being opened, its 2-minute start-to-close), and the changelog issue
      // then fails CI once and goes round again. Measured on 2 shared cores beside other work:
      // 58 to 126 s over 8 passes. Past 240 s once in CI: the emulator had saved a PR and died
      // before saving its CI run, so the head stayed pending (the emulator now starts that CI).
      const outcome = (title: RegExp) => eventually(`${title} to end`, async () => {
        const run = await client.workflow.getHandle(issueWorkflowId(id(title))).query(issueStateQuery);
        return run.outcome !== null && run;
      }, 240_000, 500);
      const waitingSince = Date.now();
      const [greeting, changelog] = await Promise.all([outcome(/greeting/), outcome(/changelog/)]).catch(async (err: unknown) => {
        // Say what the runs were waiting on, and what the worker logged, not only that time ran out.
        const reports = await Promise.all([/greeting/, /changelog/].map((title) => runReport(client, issueWorkflowId(id(title)), 60)));
        const pulls = await sandboxPullRequests(ports.github).catch((e: unknown) => `(the GitHub emulator did not answer: ${String(e)})`);
        throw new Error(`${String(err)}\n${reports.join('\n')}\npull requests:\n${pulls}\nnpm run dev (second) printed:\n${second.output().slice(-4000)}`);
      });
      console.log(`[dev-restart] both demo issues ended ${((Date.now() - waitingSince) / 1000).toFixed(0)} s after the second npm run dev was ready`);
      expect({ outcome: greeting.outcome, reason: greeting.reason }).toEqual({ outcome: 'merged', reason: expect.anything() });
      expect({ outcome: changelog.outcome, reason: changelog.reason, history: changelog.history }).toMatchObject({ outcome: 'merged' });
      expect(greeting.attempts).toBeGreaterThanOrEqual(1);
      expect(changelog.redispatches).toBe(1);
      const thin = await client.workflow.getHandle(issueWorkflowId(id(/Make it better/))).query(issueStateQuery);
      expect(thin.phase).toBe('escalated');
    } finally {
      await connection.close();
    }

    // A live dev is refused by the next one, with its pid (not a port clash).
    const third = dev();
    expect((await third.exited).code).toBe(1);
    expect(third.output()).toContain(`Another conveyor dev is running in ${root.dir} (pid ${second.child.pid}`);

    // Ctrl-C: everything stops, and the record goes with it.
    process.kill(-second.child.pid!, 'SIGINT');
    expect((await second.exited).code).toBe(0);
    expect(readDevRecord(root.dir)).toBeNull();
  }, 300_000);

  it('still names a port held by something else', async () => {
    const own = await freeDevPorts();
    const other = makeTestRoot('dev-port');
    const holder = createServer();
    await new Promise<void>((ok) => holder.listen(own.temporal, '127.0.0.1', () => ok()));
    try {
      const blocked = runConveyor(['dev', '--root', other.dir], { ...env, ...devPortEnv(own) });
      started.push(blocked);
      expect((await blocked.exited).code).toBe(1);
      expect(blocked.output()).toContain(`Port ${own.temporal} (Temporal) is in use. Stop what holds it (another npm run dev?) or set CONVEYOR_TEMPORAL_PORT to another port.`);
      expect(readDevRecord(other.dir)).toBeNull();
    } finally {
      holder.close();
      other.cleanup();
    }
  }, 60_000);
});

/** Each demo PR as the GitHub emulator has it: state, head, its checks and its reviews. */
async function sandboxPullRequests(port: number): Promise<string> {
  const api = `http://127.0.0.1:${port}/api/v3/repos/demo/widgets`;
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${api}${path}`, { headers: { authorization: `token ${SANDBOX_CREDENTIALS.GITHUB_TOKEN}` } });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
    return (await response.json()) as T;
  };
  const pulls = await get<Array<{ number: number; state: string; merged_at: string | null; head: { ref: string; sha: string } }>>('/pulls?state=all');
  const lines: string[] = [];
  for (const pr of pulls) {
    const checks = await get<{ check_runs: Array<{ name: string; status: string; conclusion: string | null }> }>(`/commits/${pr.head.sha}/check-runs`);
    const reviews = await get<Array<{ user: { login: string }; state: string; commit_id: string }>>(`/pulls/${pr.number}/reviews`);
    lines.push(
      `  #${pr.number} ${pr.state}${pr.merged_at ? ' merged' : ''} ${pr.head.ref}@${pr.head.sha.slice(0, 7)}; checks ${checks.check_runs.map((c) => `${c.name} ${c.status}/${c.conclusion}`).join(', ') || 'none'}; reviews ${reviews.map((r) => `${r.user.login} ${r.state}@${r.commit_id.slice(0, 7)}`).join(', ') || 'none'}`,
    );
  }
  return lines.join('\n');
}
