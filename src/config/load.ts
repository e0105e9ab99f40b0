// One config object, validated at start-up. A bad file stops the program with the file, the
// key and what was expected; nothing starts half-configured.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { factorySchema, type FactoryConfig } from './factory-schema.js';
import { temporalSchema, type TemporalConfig } from './temporal-schema.js';

export type Profile = 'runtime' | 'dev' | 'sandbox';
export const PROFILES: readonly Profile[] = ['runtime', 'dev', 'sandbox'];

/** An error a user can meet: the message says what is wrong and what to do; no stack is shown. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface Config {
  profile: Profile;
  root: string;
  temporal: TemporalConfig;
  factory: FactoryConfig;
  /** The task queue of this profile: dev and sandbox never share production's queue. */
  taskQueue: string;
  files: { temporal: string; factory: string };
}

type Env = Record<string, string | undefined>;

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}. Check that the file exists and is readable.`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new ConfigError(`${file} is not valid YAML: ${first.message.split('\n')[0]}. Fix the syntax at the line shown.`);
  }
  return doc.toJS() ?? {};
}

export function validate<S extends z.ZodType>(schema: S, data: unknown, file: string): z.infer<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    return `  - ${key}: ${issue.message}`;
  });
  throw new ConfigError(`${file} is invalid:\n${lines.join('\n')}\nFix these keys and start again.`);
}

/** Environment overrides for a real cluster or Temporal Cloud. */
function applyTemporalEnv(config: TemporalConfig, env: Env): TemporalConfig {
  const connection = { ...config.connection };
  if (env.TEMPORAL_ADDRESS) connection.address = env.TEMPORAL_ADDRESS;
  if (env.TEMPORAL_NAMESPACE) connection.namespace = env.TEMPORAL_NAMESPACE;
  if (env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY) {
    connection.tls = { ...connection.tls, certFile: env.TEMPORAL_TLS_CERT, keyFile: env.TEMPORAL_TLS_KEY, caFile: env.TEMPORAL_TLS_CA ?? connection.tls?.caFile };
  }
  return { ...config, connection };
}

export function loadConfig(options: { root?: string; profile?: Profile; env?: Env } = {}): Config {
  const env = options.env ?? process.env;
  const root = resolve(options.root ?? env.CONVEYOR_ROOT ?? process.cwd());
  const profile = options.profile ?? (env.CONVEYOR_PROFILE as Profile | undefined) ?? 'sandbox';
  if (!PROFILES.includes(profile)) {
    throw new ConfigError(`Unknown profile "${profile}" (from CONVEYOR_PROFILE or --profile): use one of ${PROFILES.join(', ')}.`);
  }

  const temporalFile = resolve(root, env.CONVEYOR_TEMPORAL_CONFIG ?? 'temporal.yaml');
  const temporal = applyTemporalEnv(validate(temporalSchema, readYaml(temporalFile), temporalFile), env);

  const instanceFile = resolve(root, env.CONVEYOR_FACTORY_CONFIG ?? 'instance/factory.yaml');
  let factoryFile = instanceFile;
  if (!existsSync(instanceFile)) {
    if (profile === 'runtime') {
      throw new ConfigError(
        `The runtime profile needs ${instanceFile}, which does not exist. Copy instance.example/factory.yaml to instance/factory.yaml and set your teams, repos and agents.`,
      );
    }
    factoryFile = resolve(root, 'instance.example/factory.yaml');
  }
  const factory = validate(factorySchema, readYaml(factoryFile), factoryFile);
  checkReferences(factory, factoryFile);

  return { profile, root, temporal, factory, taskQueue: temporal.taskQueues[profile], files: { temporal: temporalFile, factory: factoryFile } };
}

/** Cross-references the schema cannot express: every name used must be defined. */
function checkReferences(factory: FactoryConfig, file: string): void {
  const repos = new Set(factory.repos.map((r) => r.name));
  const problems: string[] = [];
  factory.tracker.teams.forEach((team, i) => {
    if (team.defaultRepo && !repos.has(team.defaultRepo)) problems.push(`tracker.teams.${i}.defaultRepo: "${team.defaultRepo}" is not listed under repos`);
  });
  factory.routing.forEach((route, i) => {
    if (!repos.has(route.repo)) problems.push(`routing.${i}.repo: "${route.repo}" is not listed under repos`);
    if (route.team && !factory.tracker.teams.some((t) => t.key === route.team)) problems.push(`routing.${i}.team: "${route.team}" is not listed under tracker.teams`);
    if (route.agent && !factory.agents.providers[route.agent]) problems.push(`routing.${i}.agent: "${route.agent}" is not listed under agents.providers`);
  });
  if (!factory.agents.providers[factory.agents.default]) {
    problems.push(`agents.default: "${factory.agents.default}" is not listed under agents.providers`);
  }
  if (problems.length > 0) throw new ConfigError(`${file} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}\nFix these keys and start again.`);
}
