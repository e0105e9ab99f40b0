// How an agent of each provider is started for one run: its argv, its environment and how its
// output is read. `command` runs any CLI as configured; `claude` and `codex` are driven through
// their JSON event streams (see claude.ts, codex.ts).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentConfig } from '../../config/factory-schema.js';
import type { AgentExit, AgentSpec } from '../agent.js';
import { claudeLaunch } from './claude.js';
import { codexLaunch } from './codex.js';

export interface LaunchContext {
  /** The installation's root: `{root}` in a command or executable is replaced by it. */
  root: string;
  /** A folder kept across the runs (its CLI's sessions live there, so a re-dispatch can
   * resume), never inside the worktree. */
  stateDir: string;
  /** Model API keys the worker holds, by variable name; only the provider's own is passed on. */
  secrets: Record<string, string | undefined>;
  /** The session of the previous run, to resume with the feedback (claude, codex). */
  resumeSessionId: string | null;
}

export interface AgentLaunch {
  spec: AgentSpec;
  /** The session resumed, or null when the run starts a new one (none given, or not found here). */
  resumed: string | null;
  /** Records what the next run needs (Codex's token totals of the thread). */
  afterRun?: (exit: AgentExit) => Promise<void>;
}

/** `<root>/node_modules/.bin/<name>` when the package is installed there, else the name on PATH. */
export function defaultExecutable(root: string, name: string): string {
  const local = join(root, 'node_modules', '.bin', name);
  return existsSync(local) ? local : name;
}

export async function agentLaunch(config: AgentConfig, context: LaunchContext): Promise<AgentLaunch> {
  if (config.provider === 'command') {
    return { spec: { command: config.command.map((arg) => arg.replaceAll('{root}', context.root)), env: config.env }, resumed: null };
  }
  // The CLI's HOME and its config folder (claude, codex) live here; Codex refuses a missing CODEX_HOME.
  await Promise.all(['home', config.provider].map((dir) => mkdir(join(context.stateDir, dir), { recursive: true, mode: 0o700 })));
  return config.provider === 'claude' ? claudeLaunch(config, context) : codexLaunch(config, context);
}
