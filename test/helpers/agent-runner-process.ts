// A "worker" in its own process that runs one agent through the real runner, so a test can give
// it credentials in its real environment (what /proc/<pid>/environ shows) or kill it with SIGKILL
// mid-agent. Prints "running <pid>" once the agent started, then the agent's exit as JSON.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgentRunner } from '../../src/integrations/agent-process.js';
import type { AgentRunRequest, Worktree } from '../../src/integrations/agent.js';
import type { AgentUser } from '../../src/integrations/agent-user.js';

interface Job {
  root: string;
  worktree: Worktree;
  spec: AgentRunRequest['spec'];
  prompt: string;
  runAs?: AgentUser;
  owner?: AgentRunRequest['owner'];
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const runner = createAgentRunner({ root: job.root, ...(job.runAs ? { runAs: job.runAs } : {}) });
const pidFile = join(job.root, 'pids', `${job.worktree.path.split('/').pop() ?? ''}.pid`);
const announce = setInterval(() => {
  const pid = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '';
  if (pid !== '') {
    process.stdout.write(`running ${pid}\n`);
    clearInterval(announce);
  }
}, 20);
const exit = await runner.run({
  spec: job.spec,
  worktree: job.worktree,
  prompt: job.prompt,
  idleTimeoutMs: 120_000,
  totalTimeoutMs: 120_000,
  heartbeatMs: 1_000,
  onHeartbeat: () => {},
  signal: new AbortController().signal,
  ...(job.owner ? { owner: job.owner } : {}),
});
clearInterval(announce);
process.stdout.write(`${JSON.stringify(exit)}\n`);
