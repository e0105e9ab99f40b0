// `conveyor doctor`: every precondition of a working installation, checked and explained in one
// run, so an operator learns all that is wrong at once instead of one failed start at a time.
// Credentials are named, never shown. `--fix` registers what Conveyor can register itself (the
// namespace and the search attributes, through the operator service); the rest says what to do.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ConfigError, loadConfig, type Config, type Profile } from '../config/load.js';
import { fleetCapacity } from '../config/fleet-capacity.js';
import { fleetWorkflowId } from '../domain/naming.js';
import { DEFAULT_GATEWAY_PORT } from '../gateway/server.js';
import { fleetChanges, fleetFingerprint, formatChanges } from '../temporal/fleet-config.js';
import { connectClient, describeTarget } from '../temporal/connection.js';
import { defaultExecutable } from '../integrations/agents/launch.js';
import type { Connection } from '@temporalio/client';
import { checkSearchAttributes, ensureNamespace, ensureSearchAttributes, namespaceExists } from '../temporal/namespace-setup.js';
import { FLEET_MEMO_KEY, type FleetMemo } from '../workflows/messages.js';

export type CheckStatus = 'ok' | 'fixed' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: CheckStatus;
  /** What was found; on a failure, what to do next. Never a secret's value. */
  detail: string;
}

export interface DoctorReport {
  ok: boolean;
  profile: Profile;
  checks: Check[];
}

type Env = Record<string, string | undefined>;

export interface DoctorOptions {
  root?: string;
  profile: Profile;
  env?: Env;
  fix?: boolean;
  /** Below this much free space where the worktrees go, the disk check fails (default 2 GiB). */
  minFreeBytes?: number;
}

const GiB = 1024 ** 3;
const DEFAULT_MIN_FREE = 2 * GiB;
const SANDBOX = 'sandbox: the emulators accept the built-in sandbox credentials';

function run(program: string, args: string[], timeoutMs = 5_000): Promise<string> {
  return new Promise((ok, fail) => {
    execFile(program, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => (error ? fail(error) : ok(`${stdout}${stderr}`.trim())));
  });
}

function onPath(program: string, env: Env): string | null {
  const candidates = program.includes('/') ? [program] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, program));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const server = createServer();
    server.once('error', () => ok(false));
    server.listen(port, '127.0.0.1', () => server.close(() => ok(true)));
  });
}

function credentialsCheck(config: Config, env: Env): Check {
  const name = 'credentials';
  if (config.profile === 'sandbox') return { name, status: 'ok', detail: SANDBOX };
  const set = (variable: string) => Boolean(env[variable]);
  const missing: string[] = [];
  const present: string[] = [];
  (set('LINEAR_API_KEY') ? present : missing).push('LINEAR_API_KEY');
  if (set('GITHUB_APP_ID')) {
    for (const variable of ['GITHUB_APP_ID', 'GITHUB_APP_PRIVATE_KEY', 'GITHUB_APP_INSTALLATION_ID']) (set(variable) ? present : missing).push(variable);
  } else if (set('GITHUB_TOKEN')) present.push('GITHUB_TOKEN');
  else missing.push('GITHUB_TOKEN (or GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID)');
  const apiKeyEnv = config.temporal.connection.apiKeyEnv;
  if (set(apiKeyEnv)) present.push(apiKeyEnv);
  if (missing.length > 0) return { name, status: 'fail', detail: `not set: ${missing.join(', ')}${present.length ? `; set: ${present.join(', ')}` : ''}. Put them in the service's environment (never in a file the agents can read).` };
  return { name, status: 'ok', detail: `set: ${present.join(', ')}` };
}

function webhookSecretsCheck(config: Config, env: Env): Check {
  const name = 'webhook secrets';
  if (config.profile === 'sandbox') return { name, status: 'ok', detail: SANDBOX };
  const count = (variable: string) => (env[variable] ?? '').split(',').filter((s) => s.trim()).length;
  const missing = ['LINEAR_WEBHOOK_SECRETS', 'GITHUB_WEBHOOK_SECRETS'].filter((variable) => count(variable) === 0);
  if (missing.length > 0) return { name, status: 'fail', detail: `not set: ${missing.join(', ')}. Set each to the signing secret of its webhook (comma-separated while rotating); the gateway refuses every delivery without one.` };
  const described = (variable: string) => `${variable} (${count(variable)} secret${count(variable) === 1 ? '' : 's'})`;
  return { name, status: 'ok', detail: `set: ${described('LINEAR_WEBHOOK_SECRETS')}, ${described('GITHUB_WEBHOOK_SECRETS')}` };
}

async function gitCheck(env: Env): Promise<Check> {
  const path = onPath('git', env);
  if (!path) return { name: 'git', status: 'fail', detail: 'git is not on PATH: install git (2.30 or newer); worktrees and pushes need it.' };
  const version = await run(path, ['--version']).catch(() => 'version unknown');
  return { name: 'git', status: 'ok', detail: `${version} (${path})` };
}

async function agentChecks(config: Config, env: Env): Promise<Check[]> {
  return Promise.all(
    // The providers the line can pick (the default and the routing rules'): one configured but
    // never used, as instance.example's claude and codex are, need not be installed here.
    Object.entries(config.factory.agents.providers)
      .filter(([provider]) => provider === config.factory.agents.default || config.factory.routing.some((rule) => rule.agent === provider))
      .map(async ([provider, spec]): Promise<Check> => {
      const name = `agent ${provider}`;
      const program = (spec.provider === 'command' ? spec.command[0]! : (spec.executable ?? defaultExecutable(config.root, spec.provider))).replaceAll('{root}', config.root);
      const path = onPath(isAbsolute(program) || !program.includes('/') ? program : resolve(config.root, program), env);
      if (!path) return { name, status: 'fail', detail: `${program} (agents.providers.${provider}.${spec.provider === 'command' ? 'command' : 'executable'}) is not on PATH: install it on this host or fix the command in ${config.files.factory}.` };
      const version = await run(path, ['--version']).then(
        (out) => out.split('\n')[0],
        () => null,
      );
      return { name, status: 'ok', detail: `${version ?? 'no --version answer'} (${path})` };
    }),
  );
}

function portsToCheck(config: Config, env: Env): Array<{ what: string; port: number; variable: string }> {
  const number = (variable: string, fallback: number) => (env[variable] ? Number(env[variable]) : fallback);
  const gateway = { what: 'gateway', port: number('CONVEYOR_GATEWAY_PORT', DEFAULT_GATEWAY_PORT), variable: 'CONVEYOR_GATEWAY_PORT' };
  const metrics = { what: 'worker metrics', port: number('CONVEYOR_METRICS_PORT', config.temporal.worker.metricsPort), variable: 'CONVEYOR_METRICS_PORT (or temporal.yaml worker.metricsPort)' };
  if (config.profile === 'runtime') return [gateway, metrics];
  const { devServer } = config.temporal;
  return [
    { what: 'Temporal dev server', port: number('CONVEYOR_TEMPORAL_PORT', devServer.port), variable: 'CONVEYOR_TEMPORAL_PORT' },
    { what: 'Temporal Web UI', port: number('CONVEYOR_UI_PORT', devServer.uiPort), variable: 'CONVEYOR_UI_PORT' },
    gateway,
    { what: 'Linear emulator', port: number('CONVEYOR_LINEAR_PORT', 8788), variable: 'CONVEYOR_LINEAR_PORT' },
    { what: 'GitHub emulator', port: number('CONVEYOR_GITHUB_PORT', 8789), variable: 'CONVEYOR_GITHUB_PORT' },
    metrics,
  ];
}

async function portsCheck(config: Config, env: Env): Promise<Check> {
  const ports = portsToCheck(config, env);
  const taken = [];
  for (const entry of ports) if (!(await portFree(entry.port))) taken.push(entry);
  if (taken.length > 0) {
    return {
      name: 'ports',
      status: 'fail',
      detail: `in use: ${taken.map((t) => `${t.port} (${t.what})`).join(', ')}. If that is this installation's own running service, stop it before starting another; otherwise set ${taken.map((t) => t.variable).join(', ')}.`,
    };
  }
  return { name: 'ports', status: 'ok', detail: `free: ${ports.map((p) => `${p.port} (${p.what})`).join(', ')}` };
}

async function diskCheck(config: Config, minFree: number): Promise<Check> {
  let dir = resolve(config.root, config.factory.workspaceDir);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const stats = await statfs(dir);
  const free = stats.bavail * stats.bsize;
  const shown = (bytes: number) => `${(bytes / GiB).toFixed(1)} GiB`;
  if (free < minFree) return { name: 'disk', status: 'fail', detail: `${shown(free)} free under ${dir} (workspaceDir), below ${shown(minFree)}: each agent gets a worktree of its repo. Free space or move workspaceDir in ${config.files.factory}.` };
  return { name: 'disk', status: 'ok', detail: `${shown(free)} free under ${dir} (workspaceDir)` };
}

async function temporalChecks(config: Config, env: Env, fix: boolean): Promise<Check[]> {
  const target = describeTarget(config);
  let client: Client;
  try {
    client = await connectClient(config, env);
  } catch (err) {
    const detail = err instanceof ConfigError ? err.message : `Cannot reach Temporal at ${target}: ${(err as Error).message}`;
    return [{ name: 'temporal', status: 'fail', detail }, ...['namespace', 'search attributes', 'fleet'].map((name): Check => ({ name, status: 'skip', detail: 'Temporal is not reachable' }))];
  }
  const checks: Check[] = [];
  try {
    // The client's own connection: a Connection, which the operator-service helpers take.
    const connection = client.connection as Connection;
    const namespace = config.temporal.connection.namespace;
    try {
      const info = await connection.workflowService.getSystemInfo({});
      checks.push({ name: 'temporal', status: 'ok', detail: `reachable at ${config.temporal.connection.address}${info.serverVersion ? `, server ${info.serverVersion}` : ''}` });
    } catch (err) {
      checks.push({ name: 'temporal', status: 'fail', detail: `Temporal at ${target} does not answer: ${(err as Error).message}. Check the address and the credentials (mTLS files or ${config.temporal.connection.apiKeyEnv}).` });
      return [...checks, ...['namespace', 'search attributes', 'fleet'].map((name): Check => ({ name, status: 'skip', detail: 'Temporal does not answer' }))];
    }

    if (await namespaceExists(connection, namespace)) checks.push({ name: 'namespace', status: 'ok', detail: `${namespace} exists` });
    else if (fix) {
      await ensureNamespace(connection, namespace);
      checks.push({ name: 'namespace', status: 'fixed', detail: `registered ${namespace}` });
    } else {
      checks.push({ name: 'namespace', status: 'fail', detail: `${namespace} does not exist. Run conveyor doctor --fix to register it (or temporal operator namespace create --namespace ${namespace}), or set TEMPORAL_NAMESPACE.` });
      checks.push({ name: 'search attributes', status: 'skip', detail: `namespace ${namespace} does not exist` }, { name: 'fleet', status: 'skip', detail: `namespace ${namespace} does not exist` });
      return checks;
    }

    const report = await checkSearchAttributes(connection, namespace);
    const wrong = report.conflicting.map((w) => `${w.name} is ${w.registered}, Conveyor needs ${w.expected}`);
    if (report.missing.length > 0 && fix && wrong.length === 0) {
      const { added } = await ensureSearchAttributes(connection, namespace);
      checks.push({ name: 'search attributes', status: 'fixed', detail: `registered ${added.join(', ')}` });
    } else if (report.missing.length > 0 || wrong.length > 0) {
      const missing = report.missing.map((m) => `${m.name} (${m.type})`);
      const what = [...(missing.length ? [`missing in ${namespace}: ${missing.join(', ')}`] : []), ...wrong].join('; ');
      checks.push({ name: 'search attributes', status: 'fail', detail: `${what}. Runs cannot start without them: run conveyor doctor --fix${wrong.length ? ' (a wrong type cannot be changed: remove that attribute on the cluster first)' : ''}.` });
    } else checks.push({ name: 'search attributes', status: 'ok', detail: `all ${report.present.length} registered in ${namespace}` });

    checks.push(await fleetCheck(client, config));
  } finally {
    await client.connection.close();
  }
  return checks;
}

async function fleetCheck(client: Client, config: Config): Promise<Check> {
  const name = 'fleet';
  const ours = fleetCapacity(config);
  const fingerprint = fleetFingerprint(ours);
  const workflowId = fleetWorkflowId(config.taskQueue);
  let memo: FleetMemo | undefined;
  let running: boolean;
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    memo = description.memo?.[FLEET_MEMO_KEY] as FleetMemo | undefined;
    running = description.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { name, status: 'ok', detail: `no fleet on task queue ${config.taskQueue} yet: the first worker starts it with this host's configuration (${fingerprint.slice(0, 12)})` };
    throw err;
  }
  if (!running) return { name, status: 'ok', detail: `the fleet of ${config.taskQueue} is closed: the next worker starts it with this host's configuration (${fingerprint.slice(0, 12)})` };
  if (memo?.fingerprint === fingerprint) return { name, status: 'ok', detail: `the fleet of ${config.taskQueue} runs this host's configuration (${fingerprint.slice(0, 12)}${memo.configuredBy ? `, set by ${memo.configuredBy}` : ''})` };
  return {
    name,
    status: 'fail',
    detail: `the fleet of ${config.taskQueue} runs another configuration (${memo?.fingerprint.slice(0, 12) ?? 'unknown'}) than this host's (${fingerprint.slice(0, 12)}):\n${formatChanges(fleetChanges(memo?.capacity, ours))}\nA worker here would refuse to start. Give this host the fleet's configuration, or change the fleet deliberately with conveyor fleet apply.`,
  };
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const checks: Check[] = [];
  let config: Config;
  try {
    config = loadConfig({ root: options.root, profile: options.profile, env });
    checks.push({ name: 'configuration', status: 'ok', detail: `${config.files.temporal} and ${config.files.factory} are valid (profile ${config.profile}, task queue ${config.taskQueue})` });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    checks.push({ name: 'configuration', status: 'fail', detail: err.message });
    checks.push(await gitCheck(env));
    return { ok: false, profile: options.profile, checks };
  }
  checks.push(credentialsCheck(config, env), webhookSecretsCheck(config, env));
  checks.push(...(await temporalChecks(config, env, options.fix ?? false)));
  checks.push(await gitCheck(env), ...(await agentChecks(config, env)));
  checks.push(await portsCheck(config, env), await diskCheck(config, options.minFreeBytes ?? DEFAULT_MIN_FREE));
  return { ok: checks.every((check) => check.status !== 'fail'), profile: config.profile, checks };
}

const MARK: Record<CheckStatus, string> = { ok: 'ok   ', fixed: 'fixed', fail: 'FAIL ', skip: 'skip ' };

export function formatReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = report.checks.map((c) => `${MARK[c.status]}  ${c.name.padEnd(width)}  ${c.detail.replaceAll('\n', `\n${' '.repeat(width + 9)}`)}`);
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  lines.push('', failed === 0 ? `All checks passed (profile ${report.profile}).` : `${failed} check${failed === 1 ? '' : 's'} failed (profile ${report.profile}).`);
  return lines.join('\n');
}
