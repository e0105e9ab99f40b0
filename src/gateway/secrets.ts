// Webhook secrets come only from the environment, as comma-separated lists so a secret can be
// rotated without downtime: list the new one beside the old, switch the sender, drop the old.
import { ConfigError } from '../config/load.js';

export interface WebhookSecrets {
  linear: string[];
  github: string[];
}

type Env = Record<string, string | undefined>;

const VARIABLES = {
  linear: { name: 'LINEAR_WEBHOOK_SECRETS', where: "the signing secret shown on the Linear webhook's settings page" },
  github: { name: 'GITHUB_WEBHOOK_SECRETS', where: "the secret you set on the GitHub webhook (or the GitHub App's webhook)" },
} as const;

export function secretsFromEnv(env: Env = process.env): WebhookSecrets {
  const linear = splitSecrets(env[VARIABLES.linear.name]);
  const github = splitSecrets(env[VARIABLES.github.name]);
  const missing = (['linear', 'github'] as const).filter((source) => (source === 'linear' ? linear : github).length === 0);
  if (missing.length > 0) {
    const lines = missing.map((source) => `  - ${VARIABLES[source].name} is not set: set it to ${VARIABLES[source].where}`);
    throw new ConfigError(
      `The webhook gateway cannot verify deliveries:\n${lines.join('\n')}\nSeveral secrets may be given, separated by commas, while one is being rotated.`,
    );
  }
  return { linear, github };
}

function splitSecrets(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
