// Codex, unattended: `codex exec --json --sandbox workspace-write`, prompt on stdin, and
// `codex exec resume <thread id>` on a re-dispatch (verified offline with 0.169.0).
//
// Permissions. `exec` never asks for approval; `--sandbox workspace-write` lets its commands
// and patches write only inside the worktree (and temp folders), with the network off, enforced
// by Codex's own Linux sandbox. Codex keeps git metadata read-only in that sandbox (the
// worktree's `.git` and, even with `--add-dir`, the mirror it points to), so a Codex agent
// edits and Conveyor commits what it left (Workspaces.finalize). We do not use
// `--dangerously-bypass-approvals-and-sandbox`: it would run every command unconfined.
//
// Environment. Its own HOME and CODEX_HOME under the state folder (threads are kept
// there for `exec resume`), the model key named by apiKeyEnv, and, when baseUrl is set, a
// custom model provider speaking the Responses API over HTTP (Codex ignores OPENAI_BASE_URL
// alone and would try a WebSocket, then its default host).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentConfig } from '../../config/factory-schema.js';
import { defaultExecutable, type AgentLaunch, type LaunchContext } from './launch.js';
import type { PricePerMTok, Tokens } from './stream.js';

type CodexConfig = Extract<AgentConfig, { provider: 'codex' }>;

/** A list price for a GPT-5-class model; set pricePerMTok for yours. */
export const CODEX_DEFAULT_PRICE: PricePerMTok = { input: 1.25, output: 10 };
const USAGE_FILE = 'conveyor-thread-usage.json';

async function hasThread(codexHome: string, threadId: string): Promise<boolean> {
  const entries = await readdir(join(codexHome, 'sessions'), { recursive: true }).catch(() => [] as string[]);
  return entries.some((entry) => entry.endsWith('.jsonl') && entry.includes(threadId));
}

async function readBaseline(codexHome: string, threadId: string): Promise<Tokens> {
  try {
    const saved = JSON.parse(await readFile(join(codexHome, USAGE_FILE), 'utf8')) as { threadId?: string; input?: number; output?: number };
    if (saved.threadId === threadId) return { input: saved.input ?? 0, output: saved.output ?? 0 };
  } catch {
    // No earlier run recorded here: the thread's totals are all this run's.
  }
  return { input: 0, output: 0 };
}

export async function codexLaunch(config: CodexConfig, context: LaunchContext): Promise<AgentLaunch> {
  const codexHome = join(context.stateDir, 'codex');
  const resumed = context.resumeSessionId && (await hasThread(codexHome, context.resumeSessionId)) ? context.resumeSessionId : null;
  const baseline = resumed ? await readBaseline(codexHome, resumed) : { input: 0, output: 0 };
  const executable = (config.executable ?? defaultExecutable(context.root, 'codex')).replaceAll('{root}', context.root);
  const apiKeyEnv = config.apiKeyEnv ?? 'OPENAI_API_KEY';
  const provider = config.baseUrl
    ? [
        '-c', 'model_provider=conveyor',
        '-c', 'model_providers.conveyor.name="conveyor"',
        '-c', `model_providers.conveyor.base_url=${JSON.stringify(config.baseUrl.replace(/\/+$/, '').replace(/(\/v1)?$/, '/v1'))}`,
        '-c', 'model_providers.conveyor.env_key="OPENAI_API_KEY"',
        '-c', 'model_providers.conveyor.wire_api="responses"',
        ...(config.maxRetries !== undefined ? ['-c', `model_providers.conveyor.request_max_retries=${config.maxRetries}`, '-c', `model_providers.conveyor.stream_max_retries=${config.maxRetries}`] : []),
      ]
    : [];
  const command = [executable, 'exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write', ...(config.model ? ['-m', config.model] : []), ...provider, ...(resumed ? ['resume', resumed] : []), '-'];
  const key = context.secrets[apiKeyEnv];
  const env: Record<string, string> = { HOME: join(context.stateDir, 'home'), CODEX_HOME: codexHome, ...(key ? { OPENAI_API_KEY: key } : {}), ...config.env };
  return {
    spec: { command, env, promptOnStdin: true, stream: { format: 'codex', price: config.pricePerMTok ?? CODEX_DEFAULT_PRICE, baseline } },
    resumed,
    async afterRun(exit) {
      if (exit.status !== 'finished' && exit.status !== 'failed' && exit.status !== 'budget-exceeded') return;
      if (!exit.sessionId || !exit.tokens) return;
      const totals = exit.sessionId === resumed ? { input: baseline.input + exit.tokens.input, output: baseline.output + exit.tokens.output } : exit.tokens;
      await writeFile(join(codexHome, USAGE_FILE), JSON.stringify({ threadId: exit.sessionId, ...totals }), { mode: 0o600 });
    },
  };
}
