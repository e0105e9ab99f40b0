// Whether the LLM triage tier is on, and how to reach its model: `triageAdvisor` in
// factory.yaml with the environment on top. Off unless a provider is named, because it sends
// the issue's text to that provider. The key is read here and goes nowhere but the request
// header: the settings object is never logged (its `apiKey` field is censored by the logger too).
import { z } from 'zod';
import { durationMs } from '../domain/duration.js';
import type { FactoryConfig } from './factory-schema.js';
import { ConfigError } from './load.js';

export type TriageModelProvider = 'anthropic' | 'openai';

export interface TriageAdvisorSettings {
  provider: TriageModelProvider;
  model: string;
  /** Without the API path: `https://api.anthropic.com`, `https://api.openai.com/v1` (the SDKs' conventions). */
  baseUrl: string;
  apiKey: string;
  /** Where the key came from, for messages that must name it without showing it. */
  apiKeyEnv: string;
  timeoutMs: number;
  maxOutputTokens: number;
  pricePerMTok?: { input: number; output: number };
}

type Env = Record<string, string | undefined>;

const DEFAULTS: Record<TriageModelProvider, { keyEnv: string; baseUrlEnv: string; baseUrl: string }> = {
  anthropic: { keyEnv: 'ANTHROPIC_API_KEY', baseUrlEnv: 'ANTHROPIC_BASE_URL', baseUrl: 'https://api.anthropic.com' },
  openai: { keyEnv: 'OPENAI_API_KEY', baseUrlEnv: 'OPENAI_BASE_URL', baseUrl: 'https://api.openai.com/v1' },
};

const envSchema = z.object({
  CONVEYOR_TRIAGE_MODEL_PROVIDER: z.enum(['anthropic', 'openai', 'off'], { error: 'expected anthropic, openai or off' }).optional(),
  CONVEYOR_TRIAGE_MODEL: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.url({ error: 'expected a URL such as https://api.anthropic.com' }).optional(),
  OPENAI_BASE_URL: z.url({ error: 'expected a URL such as https://api.openai.com/v1' }).optional(),
});

/** Empty variables count as unset, as a shell's `VAR=` means. */
function present(env: Env, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => (env[name] ? [[name, env[name]!.trim()]] : [])));
}

/**
 * The advisor's settings, or null when the tier is off. Throws ConfigError naming the variable
 * or key when it is on but cannot work (no model, no key, a malformed URL).
 */
export function triageAdvisorSettings(factory: FactoryConfig, env: Env, file = 'instance/factory.yaml'): TriageAdvisorSettings | null {
  const parsed = envSchema.safeParse(present(env, Object.keys(envSchema.shape)));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  - ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`The triage advisor's environment is invalid:\n${lines.join('\n')}\nFix these variables (or unset them) and start again.`);
  }
  const vars = parsed.data;
  const fromFile = factory.triageAdvisor;
  const provider = vars.CONVEYOR_TRIAGE_MODEL_PROVIDER ?? fromFile.provider;
  if (provider === undefined || provider === 'off') return null;

  const model = vars.CONVEYOR_TRIAGE_MODEL ?? fromFile.model;
  if (!model) throw new ConfigError(`The triage advisor is on (provider ${provider}) but names no model: set CONVEYOR_TRIAGE_MODEL or triageAdvisor.model in ${file} to a ${provider} model name, or turn it off with CONVEYOR_TRIAGE_MODEL_PROVIDER=off.`);
  const defaults = DEFAULTS[provider];
  const apiKeyEnv = fromFile.apiKeyEnv ?? defaults.keyEnv;
  const apiKey = env[apiKeyEnv]?.trim();
  if (!apiKey) throw new ConfigError(`${apiKeyEnv} is not set: the triage advisor (provider ${provider}) needs a ${provider} API key there, or turn it off with CONVEYOR_TRIAGE_MODEL_PROVIDER=off.`);
  const baseUrl = (fromFile.baseUrl ?? vars[defaults.baseUrlEnv as 'ANTHROPIC_BASE_URL' | 'OPENAI_BASE_URL'] ?? defaults.baseUrl).replace(/\/+$/, '');
  return {
    provider,
    model,
    baseUrl,
    apiKey,
    apiKeyEnv,
    timeoutMs: durationMs(fromFile.timeout),
    maxOutputTokens: fromFile.maxOutputTokens,
    ...(fromFile.pricePerMTok ? { pricePerMTok: fromFile.pricePerMTok } : {}),
  };
}
