// Builds the real integrations from config and the environment. Secrets come from the
// environment only; a missing one stops start-up with the variable's name and what to do.
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { createRedactor, type Redactor } from '../activities/redact.js';
import { ConfigError, type Config } from '../config/load.js';
import { createAgentRunner } from '../integrations/agent-process.js';
import { resolveAgentUser, workerIsRoot, type AgentUser } from '../integrations/agent-user.js';
import { IntegrationError } from '../integrations/errors.js';
import type { AgentRunner, Workspaces } from '../integrations/agent.js';
import type { Forge } from '../integrations/forge.js';
import { createGitWorkspaces } from '../integrations/git-workspaces.js';
import { createGitHubForge } from '../integrations/github-forge.js';
import { createLinearTracker } from '../integrations/linear-tracker.js';
import type { AgentSessions, IssueFiler, Tracker } from '../integrations/tracker.js';
import { createRepoHooks, type RepoHooks } from '../integrations/repo-hooks.js';
import { durationMs } from '../domain/duration.js';
import { triageAdvisorSettings } from '../config/triage-advisor.js';
import { createTriageAdvisor, type TriageAdvisor } from '../integrations/triage-advisor/advisor.js';
import { join } from 'node:path';

export interface Integrations {
  tracker: Tracker;
  forge: Forge;
  workspaces: Workspaces;
  agents: AgentRunner;
  /** Model API keys the configured claude/codex agents name (apiKeyEnv), read from the environment. */
  agentSecrets: Record<string, string>;
  redact: Redactor;
  /** The repo's `.conveyor/hooks/*`; absent: no hooks run. */
  hooks?: RepoHooks;
  /** Linear agent sessions; present only when `tracker.agentSessions.enabled`. */
  agentSessions?: AgentSessions;
  /** The LLM triage tier; absent (the default) unless `triageAdvisor` or CONVEYOR_TRIAGE_MODEL_PROVIDER names a provider. */
  advisor?: TriageAdvisor;
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string, what: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`${name} is not set: ${what}`);
  return value;
}

/** Only the model keys an agent provider names; a missing one is left to the CLI to report. */
function modelKeys(factory: Config['factory'], env: Env): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const provider of Object.values(factory.agents.providers)) {
    if (provider.provider === 'command') continue;
    const name = provider.apiKeyEnv ?? (provider.provider === 'claude' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY');
    const value = env[name];
    if (value) keys[name] = value;
  }
  return keys;
}

/**
 * The user agents run as. A root worker must name one in the runtime profile: an agent running
 * as root could read every credential of the worker from /proc/<pid>/environ.
 */
function agentUser(config: Config, logger: Logger): AgentUser | undefined {
  const runAs = config.factory.agents.runAs;
  if (runAs !== undefined) {
    try {
      return resolveAgentUser(runAs);
    } catch (error) {
      throw new ConfigError(error instanceof IntegrationError ? error.message : String(error));
    }
  }
  if (!workerIsRoot()) return undefined;
  const how = 'create an unprivileged user (`useradd --system --user-group --no-create-home --shell /usr/sbin/nologin conveyor-agent`) and set agents.runAs: conveyor-agent in instance/factory.yaml';
  if (config.profile === 'runtime') throw new ConfigError(`The worker runs as root and agents.runAs is not set, so agents would run as root and could read the worker's credentials: ${how}.`);
  logger.warn(`the worker runs as root and agents.runAs is not set: agents run as root and could read this worker's environment. Fine for the sandbox; for real credentials, ${how}.`);
  return undefined;
}

/** The tracker and the forge alone, for commands that read and write only those (`conveyor canary`). */
export function buildTrackerAndForge(config: Config, env: Env, logger: Logger): { tracker: Tracker & IssueFiler & AgentSessions; forge: Forge } {
  const { factory } = config;
  const tracker = createLinearTracker({
    apiKey: required(env, 'LINEAR_API_KEY', 'set it to a Linear API key with access to the configured teams (Settings → API → Personal API keys).'),
    apiUrl: factory.tracker.apiUrl,
    logger: logger.child({ integration: 'linear' }),
  });
  const appId = env.GITHUB_APP_ID;
  const forge = createGitHubForge({
    ...(appId
      ? { app: { appId, privateKey: required(env, 'GITHUB_APP_PRIVATE_KEY', 'set it to the GitHub App private key (PEM) when GITHUB_APP_ID is set.'), installationId: Number(required(env, 'GITHUB_APP_INSTALLATION_ID', 'set it to the numeric installation id of the GitHub App on your organisation.')) } }
      : { token: required(env, 'GITHUB_TOKEN', 'set it to a GitHub token that can push branches and open, merge and close pull requests on the configured repos (or set GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID).') }),
    baseUrl: factory.forge.apiUrl,
    gitBaseUrl: factory.forge.gitUrl,
    requiredChecks: Object.fromEntries(factory.repos.filter((r) => r.requiredChecks).map((r) => [r.name, r.requiredChecks!])),
    approvalSurvivesPush: Object.fromEntries(factory.repos.map((r) => [r.name, r.approvalSurvivesPush ?? false])),
    logger: logger.child({ integration: 'github' }),
  });
  return { tracker, forge };
}

export function buildIntegrations(config: Config, env: Env, logger: Logger): Integrations {
  const { factory } = config;
  const { tracker, forge } = buildTrackerAndForge(config, env, logger);
  const root = resolve(config.root, factory.workspaceDir);
  const runAs = agentUser(config, logger);
  const redact = createRedactor(env);
  const hooks = createRepoHooks({
    timeoutsMs: { 'after-create': durationMs(factory.hooks.afterCreate), 'before-run': durationMs(factory.hooks.beforeRun), 'after-run': durationMs(factory.hooks.afterRun), 'before-remove': durationMs(factory.hooks.beforeRemove) },
    logDir: join(root, 'logs'),
    redact,
    logger: logger.child({ integration: 'hooks' }),
    ...(runAs ? { runAs } : {}),
  });
  const advisorSettings = triageAdvisorSettings(factory, env, config.files.factory);
  if (advisorSettings) logger.info({ provider: advisorSettings.provider, model: advisorSettings.model, baseUrl: redact(advisorSettings.baseUrl), timeoutMs: advisorSettings.timeoutMs }, 'triage advisor on: thin and unroutable issues are sent to this model for a suggestion');
  return {
    tracker,
    forge,
    hooks,
    ...(factory.tracker.agentSessions.enabled ? { agentSessions: tracker } : {}),
    ...(advisorSettings ? { advisor: createTriageAdvisor(advisorSettings) } : {}),
    workspaces: createGitWorkspaces({
      root,
      logger: logger.child({ integration: 'git' }),
      beforeRemove: async ({ path, branch, key }) => {
        await hooks.run('before-remove', { worktree: path, branch, issueKey: key.toUpperCase() });
      },
      ...(runAs ? { agentUser: runAs } : {}),
    }),
    agents: createAgentRunner({
      root,
      logger: logger.child({ integration: 'agent' }),
      runFiles: { maxAgeMs: durationMs(factory.agents.runFiles.maxAge), maxPerIssue: factory.agents.runFiles.maxPerIssue },
      ...(runAs ? { runAs } : {}),
    }),
    agentSecrets: modelKeys(factory, env),
    redact,
  };
}
