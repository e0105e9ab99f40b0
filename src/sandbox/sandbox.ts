// The embedded default: both emulators started together, wired to send signed webhooks to the
// gateway, with the config pointed at them. `conveyor dev` and the end-to-end tests use this.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { startGitHubEmulator, type GitHubEmulator } from './github/index.js';
import { startLinearEmulator, type LinearEmulator } from './linear/index.js';
import { startModelEmulator, type ModelEmulator } from './models/index.js';

/** Credentials of the local sandbox. They guard nothing outside this machine. */
export const SANDBOX_CREDENTIALS = {
  LINEAR_API_KEY: 'lin_sandbox_api_key',
  GITHUB_TOKEN: 'sandbox_github_token',
  LINEAR_WEBHOOK_SECRETS: 'sandbox-linear-webhook-secret',
  GITHUB_WEBHOOK_SECRETS: 'sandbox-github-webhook-secret',
  /** The model emulator's keys: what a claude or codex agent gets in the sandbox. */
  ANTHROPIC_API_KEY: 'sandbox-anthropic-key',
  OPENAI_API_KEY: 'sandbox-openai-key',
} as const;

/** The model name the triage advisor uses in the sandbox when none is configured. */
export const SANDBOX_TRIAGE_MODEL = 'sandbox-triage-model';

/**
 * The config with the triage advisor, when it is on (CONVEYOR_TRIAGE_MODEL_PROVIDER or
 * `triageAdvisor.provider`), asking the model emulator: the sandbox never sends an issue out.
 */
export function withSandboxAdvisor(config: Config, env: Record<string, string | undefined>, models: ModelEmulator): Config {
  const advisor = config.factory.triageAdvisor;
  const provider = env.CONVEYOR_TRIAGE_MODEL_PROVIDER || advisor.provider;
  if (provider !== 'anthropic' && provider !== 'openai') return config;
  const baseUrl = provider === 'anthropic' ? models.url : models.openaiBaseUrl;
  return { ...config, factory: { ...config.factory, triageAdvisor: { ...advisor, baseUrl, apiKeyEnv: undefined, model: advisor.model ?? SANDBOX_TRIAGE_MODEL } } };
}

export interface Sandbox {
  linear: LinearEmulator;
  github: GitHubEmulator;
  /** The Anthropic and OpenAI APIs, scripted: what claude and codex agents talk to here. */
  models: ModelEmulator;
  /** The config, pointed at the emulators. */
  config: Config;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startSandbox(options: {
  config: Config;
  dataDir?: string;
  linearPort?: number;
  githubPort?: number;
  modelsPort?: number;
  gatewayUrl: string;
  ciDelayMs?: number;
  logger?: Logger;
}): Promise<Sandbox> {
  const { dataDir } = options;
  // Without a data folder the sandbox is throwaway: the GitHub emulator still needs a disk for
  // its bare repos, so it gets a temporary one that goes when the sandbox closes.
  const scratch = dataDir ? null : mkdtempSync(join(tmpdir(), 'conveyor-github-'));
  const githubDir = scratch ?? join(dataDir!, 'github');
  const linear = await startLinearEmulator({
    port: options.linearPort ?? 0,
    dataFile: dataDir ? join(dataDir, 'linear.json') : undefined,
    apiKeys: [SANDBOX_CREDENTIALS.LINEAR_API_KEY],
    webhooks: [{ url: `${options.gatewayUrl}/webhooks/linear`, secret: SANDBOX_CREDENTIALS.LINEAR_WEBHOOK_SECRETS }],
    logger: options.logger?.child({ part: 'linear-sandbox' }),
  });
  let github: GitHubEmulator;
  let models: ModelEmulator;
  try {
    models = await startModelEmulator({ port: options.modelsPort ?? 0, anthropicKeys: [SANDBOX_CREDENTIALS.ANTHROPIC_API_KEY], openaiKeys: [SANDBOX_CREDENTIALS.OPENAI_API_KEY], logger: options.logger?.child({ part: 'model-sandbox' }) });
  } catch (err) {
    await linear.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  try {
    github = await startGitHubEmulator({
      port: options.githubPort ?? 0,
      dataDir: githubDir,
      tokens: [SANDBOX_CREDENTIALS.GITHUB_TOKEN],
      webhooks: [{ url: `${options.gatewayUrl}/webhooks/github`, secret: SANDBOX_CREDENTIALS.GITHUB_WEBHOOK_SECRETS }],
      ciDelayMs: options.ciDelayMs ?? 200,
      logger: options.logger?.child({ part: 'github-sandbox' }),
    });
  } catch (err) {
    await Promise.allSettled([linear.close(), models.close()]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  const factory = structuredClone(options.config.factory);
  factory.tracker.apiUrl = linear.url;
  factory.forge.apiUrl = github.url;
  factory.forge.gitUrl = github.webUrl;
  // Real agent CLIs in the sandbox talk to the model emulator, never to a real API.
  for (const provider of Object.values(factory.agents.providers)) {
    if (provider.provider === 'claude') provider.baseUrl = models.url;
    if (provider.provider === 'codex') provider.baseUrl = models.openaiBaseUrl;
    // The CLIs retry a failed model call up to 10 times with backoff (minutes); here a scripted
    // fault should show in seconds.
    if (provider.provider !== 'command') provider.maxRetries ??= 2;
  }
  return {
    linear,
    github,
    models,
    config: { ...options.config, factory },
    env: { ...SANDBOX_CREDENTIALS },
    close: async () => {
      await Promise.allSettled([linear.close(), github.close(), models.close()]);
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    },
  };
}
