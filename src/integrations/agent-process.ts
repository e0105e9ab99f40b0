import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { FileHandle } from 'node:fs/promises';
import { chmod, chown, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import type { AgentExit, AgentRunner, AgentRunRequest } from './agent.js';
import { createStreamParser } from './agents/stream.js';
import { processStartTime, recordFile, thisHost, writeRecord } from './agent-records.js';
import type { AgentUser } from './agent-user.js';
import { IntegrationError } from './errors.js';
import { killMatching, signalGroup } from './process-tree.js';
import { lastAttempt, pruneRunFiles, type RunFilesPolicy, type RunFilesReport } from './run-files.js';

type LogFn = (fields: Record<string, unknown>, message: string) => void;

// An agent CLI as a child process. It leads its own process group so the whole tree can be
// killed; it sees only an allowlisted environment (never the factory's tracker, forge or
// Temporal credentials); its output goes to a bounded log file, never into memory or into a
// summary. What it reports back comes from a result file it may write, outside its worktree.
//
// Files under `root` (share it with the workspaces so `remove` finds the pid file):
//   prompts/<key>-<n>.md   the prompt           results/<key>-<n>.json  what the agent reports
//   logs/<key>-<n>.log     stdout and stderr    pids/<key>.pid          while the agent runs
//   homes/<key>-<n>/       the agent's HOME     pids/<key>.json         its record, for the reaper
// `<key>` is the worktree's directory name; `<n>` counts attempts, so a re-dispatch keeps the
// earlier logs. Prompts, logs and results of finished runs are kept as `runFiles` says
// (`agents.runFiles`, run-files.ts): pruned once when the worker starts and after runs, at most
// once per `pruneIntervalMs`.

export interface AgentRunnerOptions {
  root: string;
  /** Variables copied from the worker's environment; default PATH, LANG, TERM, TMPDIR. HOME is always the run's own. */
  passEnv?: string[];
  /**
   * The unprivileged user agents run as (`agents.runAs`): the agent cannot read the worker's
   * /proc/<pid>/environ, and what it plants runs with its rights only. Absent: the worker's user.
   */
  runAs?: AgentUser;
  /** pino's logger fits; fields never carry a credential. */
  logger?: { info: LogFn; warn: LogFn };
  /** Log bytes kept per run (default 10 MiB); output beyond is counted and dropped. */
  maxLogBytes?: number;
  /** Between SIGTERM and SIGKILL when the runner stops an agent (default 3 s). */
  killGraceMs?: number;
  /** How long finished runs' prompt, log and result files are kept (`agents.runFiles`). Absent: forever. */
  runFiles?: RunFilesPolicy;
  /** The least time between two prunes of this runner (default 10 min). */
  pruneIntervalMs?: number;
}

const DEFAULT_PASS_ENV = ['PATH', 'LANG', 'TERM', 'TMPDIR'];
const MAX_RESULT_BYTES = 1024 * 1024;
const MAX_SUMMARY_CHARS = 20_000;
/** How long to wait for pipes to close after the group is dead before giving up on them. */
const PIPE_CLOSE_WAIT_MS = 2_000;
const DEFAULT_PRUNE_INTERVAL_MS = 10 * 60_000;

const AgentResult = z.object({ summary: z.string(), costUsd: z.number().nonnegative().optional() });

type StopReason = 'stalled' | 'timeout' | 'cancelled' | 'budget';

function describeMs(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * The attempt after the key's last one, its log file claimed atomically. Counted from the last
 * log rather than from 1: retention removes the oldest runs first, and a number used again would
 * give a new run the name of an old one that a run's history still points at.
 */
async function claimLog(logs: string, key: string): Promise<{ n: number; path: string; handle: FileHandle }> {
  for (let n = lastAttempt(await readdir(logs), key) + 1; ; n += 1) {
    const path = join(logs, `${key}-${n}.log`);
    try {
      return { n, path, handle: await open(path, 'wx', 0o600) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

function endStream(stream: Writable): Promise<void> {
  return new Promise((resolvePromise) => {
    if (stream.destroyed) return resolvePromise();
    stream.once('error', () => resolvePromise());
    stream.end(() => resolvePromise());
  });
}

export function createAgentRunner(options: AgentRunnerOptions): AgentRunner {
  const root = resolve(options.root);
  const passEnv = options.passEnv ?? DEFAULT_PASS_ENV;
  const maxLogBytes = options.maxLogBytes ?? 10 * 1024 * 1024;
  const killGraceMs = options.killGraceMs ?? 3_000;
  const runFiles = options.runFiles;
  const pruneIntervalMs = options.pruneIntervalMs ?? DEFAULT_PRUNE_INTERVAL_MS;
  const logger = options.logger;
  const runAs = options.runAs;
  const dirs = { logs: join(root, 'logs'), pids: join(root, 'pids'), prompts: join(root, 'prompts'), results: join(root, 'results'), homes: join(root, 'homes') };
  // An agent of another user reaches its own prompt, result file and HOME by name, never lists.
  const sharedMode = runAs ? 0o711 : 0o700;
  const dirMode = (dir: string): number => (dir === dirs.prompts || dir === dirs.results || dir === dirs.homes ? sharedMode : 0o700);
  /** Hands a file the agent must read or write over to its user. */
  const handOver = async (path: string): Promise<void> => {
    if (runAs) await chown(path, runAs.uid, runAs.gid);
  };

  async function readResult(resultFile: string, logFile: string): Promise<{ summary: string; costUsd: number }> {
    const empty = { summary: '', costUsd: 0 };
    const size = await stat(resultFile).then(
      (s) => s.size,
      () => null,
    );
    if (size === null || size === 0) return empty;
    if (size > MAX_RESULT_BYTES) {
      logger?.warn({ resultFile, size }, 'agent result file too large; ignored');
      return empty;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(resultFile, 'utf8'));
    } catch {
      logger?.warn({ resultFile, logFile }, 'agent result file is not JSON; ignored');
      return empty;
    }
    const result = AgentResult.safeParse(parsed);
    if (!result.success) {
      logger?.warn({ resultFile, logFile }, 'agent result file is not { summary: string, costUsd?: number }; ignored');
      return empty;
    }
    return { summary: result.data.summary.trim().slice(0, MAX_SUMMARY_CHARS), costUsd: result.data.costUsd ?? 0 };
  }

  async function runAgent(request: AgentRunRequest): Promise<AgentExit> {
    const { spec, worktree, signal } = request;
    const [program, ...rawArgs] = spec.command;
    if (program === undefined || program === '') {
      throw new IntegrationError('The agent has no command: set agents.providers.<name>.command in instance/factory.yaml.', 'logic', { service: 'agent' });
    }
    const worktreeReady = await stat(worktree.path).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!worktreeReady) {
      throw new IntegrationError(`The worktree ${worktree.path} for ${worktree.branch} does not exist: prepare it before running the agent.`, 'logic', { service: 'agent' });
    }

    // chmod too: a folder made before runAs was configured keeps its old mode otherwise.
    await Promise.all(Object.values(dirs).map(async (dir) => (await mkdir(dir, { recursive: true, mode: dirMode(dir) }), await chmod(dir, dirMode(dir)))));
    const key = basename(worktree.path);
    const { n, path: logFile, handle } = await claimLog(dirs.logs, key);
    const log = handle.createWriteStream();
    // A full disk must not crash the worker or stall the agent: stop logging and say so.
    let logBroken = false;
    log.on('error', (error) => {
      logBroken = true;
      logger?.warn({ logFile, error: error.message }, 'cannot write the agent log; dropping its output');
    });
    const promptFile = join(dirs.prompts, `${key}-${n}.md`);
    const resultFile = join(dirs.results, `${key}-${n}.json`);
    const pidFile = join(dirs.pids, `${key}.pid`);
    const home = join(dirs.homes, `${key}-${n}`);
    await writeFile(promptFile, request.prompt, { mode: 0o600 });
    await handOver(promptFile);
    await rm(resultFile, { force: true });
    if (runAs) {
      // Made here so the agent's user may write it; an empty file reads as "no result".
      await writeFile(resultFile, '', { mode: 0o600 });
      await handOver(resultFile);
    }
    // A HOME of its own per run: nothing of the worker's (~/.gitconfig, ~/.ssh, CLI logins).
    await rm(home, { recursive: true, force: true });
    await mkdir(home, { mode: 0o700 });
    await handOver(home);

    if (signal.aborted) {
      log.write(`[conveyor] ${new Date().toISOString()} cancelled before the agent started\n`);
      await endStream(log);
      await rm(home, { recursive: true, force: true });
      return { status: 'cancelled', logFile };
    }

    const substitute = (arg: string): string => arg.replaceAll('{promptFile}', promptFile).replaceAll('{worktree}', worktree.path).replaceAll('{resultFile}', resultFile);
    const env: Record<string, string> = {};
    for (const name of passEnv) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, spec.env, { HOME: home, CONVEYOR_PROMPT_FILE: promptFile, CONVEYOR_RESULT_FILE: resultFile, CONVEYOR_WORKTREE: worktree.path });
    if (runAs) Object.assign(env, { USER: runAs.name, LOGNAME: runAs.name });

    // A streaming CLI (claude, codex) reads its prompt from stdin: no argv length limit.
    const stdinFile = spec.promptOnStdin ? await open(promptFile, 'r') : null;
    const child = spawn(substitute(program), rawArgs.map(substitute), { cwd: worktree.path, env, detached: true, stdio: [stdinFile?.fd ?? 'ignore', 'pipe', 'pipe'], ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) }) as ChildProcessByStdio<null, Readable, Readable>;
    const stream = spec.stream ? createStreamParser(spec.stream, request.onProgress) : null;
    const closed = new Promise<void>((resolvePromise) => child.once('close', () => resolvePromise()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise) => child.once('exit', (code, exitSignal) => resolvePromise({ code, signal: exitSignal })));
    try {
      await new Promise<void>((resolvePromise, reject) => {
        child.once('spawn', resolvePromise);
        child.once('error', reject);
      });
    } catch (error) {
      await stdinFile?.close();
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      log.write(`[conveyor] ${new Date().toISOString()} could not start ${program}: ${code}\n`);
      await endStream(log);
      await rm(home, { recursive: true, force: true });
      throw new IntegrationError(`Could not start the agent command "${program}" (${code}): check agents.providers.<name>.command in instance/factory.yaml and that the program is installed on the worker's PATH. Log: ${logFile}`, 'logic', { service: 'agent' });
    }
    await stdinFile?.close();
    const pid = child.pid as number;
    await writeFile(pidFile, `${pid}\n`);
    // The agent leads its own group (detached), so its pgid is its pid.
    const [leaderStart, supervisorStart] = await Promise.all([processStartTime(pid), processStartTime(process.pid)]);
    await writeRecord(root, {
      key,
      attempt: n,
      pgid: pid,
      leader: { pid, startTime: leaderStart },
      supervisor: { pid: process.pid, startTime: supervisorStart },
      host: thisHost(),
      worktree: worktree.path,
      home,
      resultFile,
      ...(request.owner ? { owner: request.owner } : {}),
      startedAt: new Date().toISOString(),
    });
    const startedAt = Date.now();
    log.write(`[conveyor] ${new Date(startedAt).toISOString()} started pid ${pid} in ${worktree.path}\n`);
    logger?.info({ key, attempt: n, pid, logFile }, 'agent started');

    // Output: counted, written up to the cap, then dropped. Backpressure from the log file
    // pauses the pipes, so a fast agent waits for the disk instead of filling our memory.
    let outputBytes = 0;
    let logged = 0;
    let truncated = false;
    let lastOutputAt = startedAt;
    /** With an event stream, only a parsed event is a sign of life (not a progress bar's bytes). */
    let lastEventAt = startedAt;
    let waitingForDrain = false;
    const pipes = [child.stdout, child.stderr];
    const resume = (): void => {
      waitingForDrain = false;
      pipes.forEach((pipe) => pipe.resume());
    };
    log.on('error', resume);
    const writeLog = (chunk: Buffer): void => {
      logged += chunk.length;
      if (logBroken) return;
      if (!log.write(chunk) && !waitingForDrain) {
        waitingForDrain = true;
        pipes.forEach((pipe) => pipe.pause());
        log.once('drain', resume);
      }
    };
    const onOutput = (chunk: Buffer): void => {
      outputBytes += chunk.length;
      lastOutputAt = Date.now();
      if (truncated) return;
      const room = maxLogBytes - logged;
      if (chunk.length <= room) return writeLog(chunk);
      writeLog(chunk.subarray(0, room));
      log.write(`\n[conveyor] log truncated at ${maxLogBytes} bytes; further output is counted and dropped\n`);
      truncated = true;
    };
    pipes.forEach((pipe) => pipe.on('data', onOutput));
    child.stdout.on('data', (chunk: Buffer) => {
      if (stream === null || stream.feed(chunk) === 0) return;
      lastEventAt = Date.now();
      const budget = request.budgetUsd;
      if (budget !== undefined && budget !== null && stream.state.costUsd > budget) stop('budget');
    });

    // Set from timer and abort callbacks; the cast keeps TS from narrowing it to null here.
    let stopReason = null as StopReason | null;
    let hasExited = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const stop = (reason: StopReason): void => {
      if (stopReason !== null || hasExited) return;
      stopReason = reason;
      log.write(`\n[conveyor] ${new Date().toISOString()} stopping the agent: ${reason}\n`);
      signalGroup(pid, 'SIGTERM');
      graceTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), killGraceMs);
    };

    const heartbeat = (): void => {
      try {
        request.onHeartbeat(stream ? { outputBytes, lastOutputAt: lastEventAt, events: stream.state.events, turns: stream.state.turns, toolCalls: stream.state.toolCalls, costUsd: stream.state.costUsd } : { outputBytes, lastOutputAt });
      } catch (error) {
        logger?.warn({ key, error: String(error) }, 'agent heartbeat callback threw');
      }
    };
    heartbeat();
    const heartbeatTimer = setInterval(heartbeat, request.heartbeatMs);
    let idleTimer: NodeJS.Timeout;
    const checkIdle = (): void => {
      const idle = Date.now() - (stream ? lastEventAt : lastOutputAt);
      if (idle >= request.idleTimeoutMs) stop('stalled');
      else idleTimer = setTimeout(checkIdle, request.idleTimeoutMs - idle);
    };
    idleTimer = setTimeout(checkIdle, request.idleTimeoutMs);
    const totalTimer = setTimeout(() => stop('timeout'), request.totalTimeoutMs);
    const onAbort = (): void => stop('cancelled');
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort(); // aborted while the process was starting

    const exit = await exited;
    hasExited = true;
    clearInterval(heartbeatTimer);
    clearTimeout(idleTimer);
    clearTimeout(totalTimer);
    clearTimeout(graceTimer);
    signal.removeEventListener('abort', onAbort);

    // Nothing of the agent may outlive it: its group, then anything that left the group but
    // still carries this run's environment.
    signalGroup(pid, 'SIGKILL');
    const strays = await killMatching({ envMarkers: [`CONVEYOR_RESULT_FILE=${resultFile}`] });
    if (strays.length > 0) logger?.warn({ key, pids: strays }, 'killed agent processes that had left its process group');
    let pipeTimer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolvePromise) => (pipeTimer = setTimeout(resolvePromise, PIPE_CLOSE_WAIT_MS)))]);
    clearTimeout(pipeTimer);
    // One more turn of the event loop before the pipes go: a timer that fires after the loop was
    // held up (a loaded host) runs before the poll phase that would deliver what the pipes
    // already hold, such as the stream's last line with the model's error; setImmediate runs
    // after that phase.
    await new Promise<void>((resolvePromise) => setImmediate(resolvePromise));
    pipes.forEach((pipe) => pipe.destroy());

    const ended = exit.code !== null ? `code ${exit.code}` : `signal ${exit.signal ?? 'unknown'}`;
    log.write(`\n[conveyor] ${new Date().toISOString()} exited with ${ended} after ${describeMs(Date.now() - startedAt)}; ${outputBytes} bytes of output${truncated ? ` (${maxLogBytes} kept)` : ''}\n`);
    await endStream(log);
    await rm(pidFile, { force: true });
    await rm(recordFile(root, key), { force: true });

    const seen = stream?.state;
    const report = seen ? { sessionId: seen.sessionId, tokens: seen.tokens, turns: seen.turns, toolCalls: seen.toolCalls } : {};
    const outcome = await (async (): Promise<AgentExit> => {
      switch (stopReason) {
        case 'budget':
          return { status: 'budget-exceeded', costUsd: seen?.costUsd ?? 0, message: `The agent's spend reached $${(seen?.costUsd ?? 0).toFixed(2)}, past the $${(request.budgetUsd ?? 0).toFixed(2)} left of the issue's budget, and it was stopped; see ${logFile}.`, logFile, ...report };
        case 'cancelled':
          return { status: 'cancelled', logFile };
        case 'stalled':
          return { status: 'stalled', message: `The agent ${stream ? 'reported no event' : 'wrote no output'} for ${describeMs(request.idleTimeoutMs)} and was stopped; see ${logFile}.`, logFile };
        case 'timeout':
          return { status: 'timeout', message: `The agent ran past its ${describeMs(request.totalTimeoutMs)} limit and was stopped; see ${logFile}.`, logFile };
        case null:
          if (seen) {
            // Spend reported in the last lines, after which the CLI exited before it could be stopped.
            if (request.budgetUsd !== undefined && request.budgetUsd !== null && seen.costUsd > request.budgetUsd) {
              return { status: 'budget-exceeded', costUsd: seen.costUsd, message: `The agent's spend reached $${seen.costUsd.toFixed(2)}, past the $${request.budgetUsd.toFixed(2)} left of the issue's budget; see ${logFile}.`, logFile, ...report };
            }
            if (exit.code === 0 && seen.error === null) return { status: 'finished', summary: (seen.summary ?? '').trim().slice(0, MAX_SUMMARY_CHARS), costUsd: seen.costUsd, logFile, ...report };
            const why = seen.error ? `: ${seen.error.message.slice(0, 500)}` : '';
            return { status: 'failed', exitCode: exit.code, signal: exit.signal, message: `The agent exited with ${ended}${why}; see ${logFile}.`, logFile, costUsd: seen.costUsd, modelError: seen.error, ...report };
          }
          if (exit.code === 0) return { status: 'finished', ...(await readResult(resultFile, logFile)), logFile };
          return { status: 'failed', exitCode: exit.code, signal: exit.signal, message: `The agent exited with ${ended}; see ${logFile}.`, logFile };
      }
    })();
    // The HOME may hold what the CLI wrote there (sessions, caches): it ends with the run.
    await rm(home, { recursive: true, force: true });
    logger?.info({ key, attempt: n, status: outcome.status, outputBytes }, 'agent ended');
    return outcome;
  }

  // Pruning lists three folders: after a run, only when the last prune is `pruneIntervalMs` old,
  // so a busy host does not list thousands of names after every run.
  let lastPruneAt = Number.NEGATIVE_INFINITY;
  async function pruneIfDue(): Promise<RunFilesReport | null> {
    const now = Date.now();
    if (runFiles === undefined || now - lastPruneAt < pruneIntervalMs) return null;
    lastPruneAt = now;
    try {
      const report = await pruneRunFiles(root, runFiles, now);
      if (report.files > 0) logger?.info({ expiredRuns: report.expiredRuns, overCapRuns: report.overCapRuns, files: report.files, bytes: report.bytes }, 'removed agent run files past their retention (agents.runFiles)');
      return report;
    } catch (error) {
      // Retention is housekeeping: a failure must not fail the run that triggered it.
      logger?.warn({ root, error: error instanceof Error ? error.message : String(error) }, 'could not prune agent run files; trying again at the next prune');
      return null;
    }
  }

  return {
    async run(request: AgentRunRequest): Promise<AgentExit> {
      try {
        return await runAgent(request);
      } finally {
        await pruneIfDue();
      }
    },
    pruneRunFiles: pruneIfDue,
  };
}
