// The `conveyor` command. A thin entry over node:util parseArgs: every command loads the one
// validated config, and every error a user can meet is printed as a sentence, never a stack.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, PROFILES, type Config, type Profile } from '../config/load.js';
import { TemporalCliMissingError } from '../temporal/cli-binary.js';
import { FleetConfigMismatchError, formatChanges } from '../temporal/fleet-config.js';
import { connectClient } from '../temporal/connection.js';
import { linePolicyFromConfig } from '../config/line-policy.js';
import { HELP } from './help.js';
import { applyFleet, commandIssue, fleetState, formatFleet, formatTable, issueStatus, listRuns, setPaused, STATUS_ROWS } from './operate.js';

const OPTIONS = {
  profile: { type: 'string' },
  root: { type: 'string' },
  port: { type: 'string' },
  json: { type: 'boolean', default: false },
  all: { type: 'boolean', default: false },
  team: { type: 'string' },
  repo: { type: 'string' },
  timeout: { type: 'string' },
  gateway: { type: 'string' },
  append: { type: 'string' },
  keep: { type: 'boolean', default: false },
  since: { type: 'string' },
  fix: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The command line; an unknown option or one without its value is said in a line, exit 2. */
function readCommandLine() {
  try {
    return parseArgs({ allowPositionals: true, options: OPTIONS });
  } catch (error) {
    console.error(`conveyor: ${error instanceof Error ? error.message : String(error)}\nRun conveyor --help for the commands and their options.`);
    process.exit(2);
  }
}

const { values, positionals } = readCommandLine();

/** --port as a TCP port (0: any free one), or a ConfigError that says what to write. */
function portOption(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new ConfigError(`--port ${value}: expected a port number from 1 to 65535 (0 picks a free one).`);
  return port;
}

function config(defaultProfile: Profile = 'sandbox'): Config {
  const profile = (values.profile ?? process.env.CONVEYOR_PROFILE ?? defaultProfile) as Profile;
  if (!PROFILES.includes(profile)) throw new ConfigError(`Unknown profile "${profile}": use one of ${PROFILES.join(', ')}.`);
  return loadConfig({ root: values.root, profile });
}

function print(value: unknown, table?: () => string): void {
  console.log(values.json || !table ? JSON.stringify(value, null, 2) : table());
}

async function main(): Promise<void> {
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return;
  }
  switch (command) {
    case 'dev': {
      const { runDev } = await import('./dev.js');
      return runDev({ config: config('sandbox') });
    }
    case 'worker': {
      const { runWorkerProcess } = await import('./processes.js');
      return runWorkerProcess(config());
    }
    case 'gateway': {
      const { runGatewayProcess } = await import('./processes.js');
      const port = values.port !== undefined ? portOption(values.port) : undefined;
      return runGatewayProcess(config(), port);
    }
    case 'doctor': {
      const { formatReport, runDoctor } = await import('./doctor.js');
      const profile = (values.profile ?? process.env.CONVEYOR_PROFILE ?? 'sandbox') as Profile;
      if (!PROFILES.includes(profile)) throw new ConfigError(`Unknown profile "${profile}": use one of ${PROFILES.join(', ')}.`);
      const report = await runDoctor({ root: values.root, profile, fix: values.fix });
      print(report, () => formatReport(report));
      if (!report.ok) process.exitCode = 1;
      return;
    }
    case 'status': {
      const cfg = config();
      const client = await connectClient(cfg);
      if (rest[0]) return print(await issueStatus(client, rest[0]));
      const rows = await listRuns(client, cfg, values.all ? Number.POSITIVE_INFINITY : STATUS_ROWS);
      if (values.json) return print(rows);
      const { failureReport } = await import('../temporal/failure-report.js');
      const { judgeContext, graduationOf, formatGraduation } = await import('./judge.js');
      // The line's health beside its runs; each part says so when it cannot be read.
      const [failures, graduation] = await Promise.all([
        failureReport(client, { taskQueue: cfg.taskQueue }).then(
          (f) => (f.alert ? `ALERT: ${f.alert}` : `failures (7d): ${f.total}, unknown ${Math.round(f.unknownShare * 100)}% (alert above 20%)`),
          (err: unknown) => `failures: could not read Temporal visibility (${err instanceof Error ? err.message : String(err)})`,
        ),
        graduationOf(judgeContext(cfg)).then(formatGraduation, (err: unknown) => `graduation: could not read the forge (${err instanceof Error ? err.message : String(err)})`),
      ]);
      const more = !values.all && rows.length === STATUS_ROWS ? [`(the ${STATUS_ROWS} latest runs; conveyor status --all lists every one)`] : [];
      console.log([formatTable(rows.map((r) => ({ issue: r.issueKey, phase: r.phase, repo: r.repo, pr: r.pr, status: r.status, started: r.startTime }))), ...more, '', graduation, failures].join('\n'));
      return;
    }
    case 'failures': {
      const cfg = config();
      const { failureReport, formatFailures } = await import('../temporal/failure-report.js');
      const { isDuration } = await import('../domain/duration.js');
      const window = values.since ?? '7d';
      if (!isDuration(window)) throw new ConfigError(`--since ${window}: expected a duration such as 24h, 7d or 30d.`);
      const summary = await failureReport(await connectClient(cfg), { taskQueue: cfg.taskQueue, window });
      return print(summary, () => formatFailures(summary));
    }
    case 'triage': {
      const cfg = config();
      const { judgeContext, triageOne, triageAll, formatTriage, formatTriageAll } = await import('./judge.js');
      const ctx = judgeContext(cfg);
      if (values.all) {
        const reports = await triageAll(ctx, values.team ? { team: values.team.toUpperCase() } : {});
        return print(reports, () => formatTriageAll(reports, formatTable));
      }
      if (!rest[0]) throw new ConfigError('Usage: conveyor triage ISSUE (a key like ENG-12, or the issue\'s id), or conveyor triage --all [--team KEY].');
      const report = await triageOne(ctx, rest[0]);
      return print(report, () => formatTriage(report));
    }
    case 'graduation': {
      const cfg = config();
      const { judgeContext, graduationOf, formatGraduation } = await import('./judge.js');
      const evidence = await graduationOf(judgeContext(cfg));
      return print(evidence, () => formatGraduation(evidence));
    }
    case 'retry':
    case 'approve':
    case 'abort':
    case 'hold':
    case 'release': {
      if (!rest[0]) throw new ConfigError(`Usage: conveyor ${command} ISSUE (a key like ENG-12, or the issue's id).`);
      const cfg = config();
      const client = await connectClient(cfg);
      const sent = await commandIssue(client, rest[0], command, { client, taskQueue: cfg.taskQueue, policy: linePolicyFromConfig(cfg) });
      console.log(sent === 'started' ? `${rest[0]} had no open run: started one that unblocks it (its answer is a comment on the issue).` : `${command} sent to ${rest[0]}; the run answers with a comment on the issue.`);
      return;
    }
    case 'pause':
    case 'resume': {
      const cfg = config();
      await setPaused(await connectClient(cfg), cfg, command === 'pause');
      console.log(command === 'pause' ? 'Fleet paused: running agents finish, no new dispatches.' : 'Fleet resumed.');
      return;
    }
    case 'fleet': {
      const cfg = config();
      const client = await connectClient(cfg);
      const sub = rest[0] ?? 'show';
      if (sub === 'show') {
        const state = await fleetState(client, cfg);
        return print(state, () => formatFleet(state));
      }
      if (sub === 'apply') {
        const applied = await applyFleet(client, cfg);
        return print(applied, () => {
          if (applied.outcome === 'running') return `The fleet of ${cfg.taskQueue} runs this configuration (${applied.fingerprint.slice(0, 12)}).`;
          const changes = formatChanges(applied.changes);
          return applied.taken
            ? `Applied to the fleet of ${cfg.taskQueue} (${applied.fingerprint.slice(0, 12)}):\n${changes}\nWorkers with the old configuration now refuse to start: give them this one.`
            : `Sent to the fleet of ${cfg.taskQueue} (${applied.fingerprint.slice(0, 12)}):\n${changes}\nNo worker has run the fleet since, so it takes effect when one does; a worker with this configuration may start now.`;
        });
      }
      throw new ConfigError(`Usage: conveyor fleet [show | apply] (not "${sub}").`);
    }
    case 'sweep': {
      const cfg = config();
      const { runSweepNow } = await import('../temporal/sweep-schedule.js');
      const { linePolicyFromConfig } = await import('../config/line-policy.js');
      const summary = await runSweepNow(await connectClient(cfg), { taskQueue: cfg.taskQueue, policy: linePolicyFromConfig(cfg) });
      return print(summary, () => `sweep: ${summary.started} started, ${summary.alreadyRunning} already running, ${summary.unblocked ?? 0} told their blockers finished, ${summary.prsSignalled} PRs nudged, ${summary.prsUnchanged ?? 0} PRs unchanged since their last nudge, ${summary.prsWithoutRun} PRs without a run, ${summary.gatesOnClosedPrs} runs told their PR closed, ${summary.compensated} terminated runs compensated`);
    }
    case 'canary': {
      const cfg = config();
      const { isDuration } = await import('../domain/duration.js');
      const timeout = values.timeout ?? '20m';
      if (!isDuration(timeout)) throw new ConfigError(`--timeout ${timeout}: expected a duration such as 90s, 20m or 1h.`);
      const { cliEndpoints } = await import('./judge.js');
      const { buildTrackerAndForge } = await import('../workers/integrations.js');
      const { runCanary, formatCanary } = await import('./canary.js');
      const { pino } = await import('pino');
      const endpoints = cliEndpoints(cfg, process.env);
      const { tracker, forge } = buildTrackerAndForge(endpoints.config, endpoints.env, pino({ level: 'silent' }));
      const gatewayUrl = values.gateway ?? process.env.CONVEYOR_GATEWAY_URL ?? `http://127.0.0.1:${process.env.CONVEYOR_GATEWAY_PORT ?? '8787'}`;
      const report = await runCanary(
        { config: cfg, client: await connectClient(cfg), tracker, forge, gatewayUrl, ...(values.json ? {} : { progress: (line: string) => console.log(line) }) },
        { team: values.team, repo: values.repo, timeout, append: values.append, keep: values.keep },
      );
      print(report, () => formatCanary(report));
      if (!report.ok) process.exitCode = 1;
      return;
    }
    case 'routes': {
      const cfg = config();
      const { routesReport, formatRoutes } = await import('./routes.js');
      const report = routesReport(cfg);
      return print(report, () => formatRoutes(report, formatTable));
    }
    case 'sandbox': {
      if (rest[0] !== 'reset') throw new ConfigError('Usage: conveyor sandbox reset');
      const { resetSandbox } = await import('./dev.js');
      return resetSandbox(config('sandbox'));
    }
    default:
      throw new ConfigError(`Unknown command "${command}". Run conveyor --help for the list.`);
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof TemporalCliMissingError || err instanceof FleetConfigMismatchError) {
    console.error(`conveyor: ${err.message}`);
  } else {
    console.error(`conveyor: unexpected error: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.CONVEYOR_DEBUG) console.error(err);
    else console.error('Set CONVEYOR_DEBUG=1 to see the stack trace, and report it if it persists.');
  }
  process.exit(1);
});
