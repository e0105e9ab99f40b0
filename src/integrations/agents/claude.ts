// Claude Code, unattended: `claude -p --output-format stream-json --verbose`, prompt on stdin.
//
// Permissions. `--permission-mode acceptEdits` lets it edit files, and Claude Code confines
// edits to its working directory (the worktree): a write elsewhere is denied ("outside allowed
// working directories"). Shell commands are refused unless allowed: `--allowedTools` grants
// only `Bash(git:*)` by default (so it can commit), and web tools are disallowed. We do not use
// `bypassPermissions`: it would allow any command anywhere, and Claude Code refuses it as root.
// `git` runs unconfined, as any git command the agent may run; the factory's own git
// operations never trust what the worktree's config or hooks say.
//
// Environment. Its own HOME and CLAUDE_CONFIG_DIR under the state folder (sessions are
// kept there, so `--resume <id>` finds them on a re-dispatch on this host), the model key named
// by apiKeyEnv, ANTHROPIC_BASE_URL when set, and no telemetry, update checks or other
// non-essential traffic. Never the worker's tracker, forge or Temporal credentials.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentConfig } from '../../config/factory-schema.js';
import { defaultExecutable, type AgentLaunch, type LaunchContext } from './launch.js';
import type { PricePerMTok } from './stream.js';

type ClaudeConfig = Extract<AgentConfig, { provider: 'claude' }>;

/** What Claude Code 2.1.328 bills its default model at (measured from its own `total_cost_usd`). */
export const CLAUDE_DEFAULT_PRICE: PricePerMTok = { input: 4, output: 20 };
const DISALLOWED = ['WebFetch', 'WebSearch'];

/** Whether Claude Code keeps this session under its config folder (`projects/<cwd>/<id>.jsonl`). */
async function hasSession(configDir: string, sessionId: string): Promise<boolean> {
  const projects = join(configDir, 'projects');
  const dirs = await readdir(projects).catch(() => [] as string[]);
  for (const dir of dirs) {
    const files = await readdir(join(projects, dir)).catch(() => [] as string[]);
    if (files.includes(`${sessionId}.jsonl`)) return true;
  }
  return false;
}

export async function claudeLaunch(config: ClaudeConfig, context: LaunchContext): Promise<AgentLaunch> {
  const configDir = join(context.stateDir, 'claude');
  const resumed = context.resumeSessionId && (await hasSession(configDir, context.resumeSessionId)) ? context.resumeSessionId : null;
  const executable = (config.executable ?? defaultExecutable(context.root, 'claude')).replaceAll('{root}', context.root);
  const command = [
    executable,
    '-p',
    '--output-format', 'stream-json',
    '--verbose',
    '--permission-mode', 'acceptEdits',
    '--allowedTools', ...config.allowedTools,
    '--disallowedTools', ...DISALLOWED,
    ...(config.model ? ['--model', config.model] : []),
    ...(resumed ? ['--resume', resumed] : []),
  ];
  const apiKeyEnv = config.apiKeyEnv ?? 'ANTHROPIC_API_KEY';
  const key = context.secrets[apiKeyEnv];
  const env: Record<string, string> = {
    HOME: join(context.stateDir, 'home'),
    CLAUDE_CONFIG_DIR: configDir,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    ...(key ? { ANTHROPIC_API_KEY: key } : {}),
    ...(config.baseUrl ? { ANTHROPIC_BASE_URL: config.baseUrl } : {}),
    ...(config.maxRetries !== undefined ? { CLAUDE_CODE_MAX_RETRIES: String(config.maxRetries) } : {}),
    ...config.env,
  };
  return { spec: { command, env, promptOnStdin: true, stream: { format: 'claude', price: config.pricePerMTok ?? CLAUDE_DEFAULT_PRICE } }, resumed };
}
