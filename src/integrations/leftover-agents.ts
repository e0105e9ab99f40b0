// Agent processes left behind by a worker that died without its release station: `npm run dev`
// killed by a closed terminal or the OOM killer. Agents lead their own process groups (so the
// worker can kill their trees), which also means a SIGKILL of the worker's group does not reach
// them: without this they go on editing, and commit with no worker watching.
//
// What marks an agent of one workspace root: the runner's pid file `pids/<key>.pid` (the pid is
// the group leader), and the runner's `CONVEYOR_RESULT_FILE=<root>/results/...` entry in the
// environment of every process of the tree. The environment check guards against a pid that
// was reused by an unrelated process since the pid file was written.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isRunning, signalGroup } from './process-tree.js';
import { readProcStat } from './proc-stat.js';

export interface ReapedAgents {
  /** Process groups (agent leaders) killed. */
  groups: number[];
  /** Processes of those agents that had left their group, killed one by one. */
  strays: number[];
}

/** The environment entry prefix the runner gives every agent of this workspace root. */
export function agentEnvPrefix(workspaceRoot: string): string {
  return `CONVEYOR_RESULT_FILE=${join(resolve(workspaceRoot), 'results')}/`;
}

async function environ(pid: number): Promise<string[] | null> {
  const raw = await readFile(`/proc/${pid}/environ`).catch(() => null);
  return raw === null ? null : raw.toString('utf8').split('\0');
}

/** Pids of this user's processes whose environment carries an entry starting with `prefix` (Linux; empty elsewhere). */
export async function processesWithEnvPrefix(prefix: string): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const found: number[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return;
      const env = await environ(Number(entry));
      if (env?.some((line) => line.startsWith(prefix))) found.push(Number(entry));
    }),
  );
  return found.sort((a, b) => a - b);
}

/**
 * Kills every agent of `workspaceRoot` that is still running: call it only when no worker of
 * this root is alive (conveyor dev checks its own record first). Their runs see the agent
 * activity's heartbeat stop and retry it on the live worker.
 */
export async function reapLeftoverAgents(workspaceRoot: string): Promise<ReapedAgents> {
  const prefix = agentEnvPrefix(workspaceRoot);
  const pidsDir = join(resolve(workspaceRoot), 'pids');
  const groups: number[] = [];
  for (const file of await readdir(pidsDir).catch(() => [] as string[])) {
    if (!file.endsWith('.pid')) continue;
    const path = join(pidsDir, file);
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 1 && (await isRunning(pid)) && (await environ(pid))?.some((line) => line.startsWith(prefix))) {
      signalGroup(pid, 'SIGKILL');
      groups.push(pid);
    }
    await rm(path, { force: true });
  }
  const strays: number[] = [];
  for (const pid of await processesWithEnvPrefix(prefix)) {
    if (!(await isRunning(pid))) continue;
    try {
      process.kill(pid, 'SIGKILL');
      strays.push(pid);
    } catch {
      // Gone between the scan and the kill.
    }
  }
  return { groups, strays: strays.filter((pid) => !groups.includes(pid)) };
}

async function parentPid(pid: number): Promise<number | null> {
  return (await readProcStat(pid))?.ppid ?? null;
}

/**
 * Kills the process groups of the agents this process started (their pid files under
 * `workspaceRoot`): for a worker that must exit before its agent activities could stop them
 * (a second SIGTERM, the shutdown deadline). Agents of other workers sharing the root are left alone.
 */
export async function killOwnAgents(workspaceRoot: string): Promise<number[]> {
  const pidsDir = join(resolve(workspaceRoot), 'pids');
  const killed: number[] = [];
  for (const file of await readdir(pidsDir).catch(() => [] as string[])) {
    if (!file.endsWith('.pid')) continue;
    const pid = Number((await readFile(join(pidsDir, file), 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 1 || (await parentPid(pid)) !== process.pid) continue;
    signalGroup(pid, 'SIGKILL');
    killed.push(pid);
  }
  return killed;
}
