#!/usr/bin/env node
// The bench's agent: a command provider that only says when it started. It reports the
// wall-clock time its process began (performance.timeOrigin, before Node loaded anything) and
// the time this script ran, to the bench's listener, waits for the answer (the bench takes the
// issue out of the ready set before answering, so the run's release cannot make it ready
// again), and exits 0 having committed nothing: the run ends as no-pr and releases at once.
// Usage: node bench/dispatch/agent.mjs; BENCH_DISPATCH_REPORT_URL is set by the bench's
// factory config, CONVEYOR_WORKTREE by the agent runner.
import { Buffer } from 'node:buffer';
import { request } from 'node:http';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';

const scriptStartedAt = Date.now();
const processStartedAt = performance.timeOrigin;
const url = process.env.BENCH_DISPATCH_REPORT_URL;
const worktree = process.env.CONVEYOR_WORKTREE ?? process.cwd();

if (!url) {
  process.stderr.write('bench agent: BENCH_DISPATCH_REPORT_URL is not set; run me through bench/dispatch\n');
  process.exit(2);
}

const body = JSON.stringify({ key: basename(worktree), processStartedAt, scriptStartedAt });
const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
  res.resume();
  res.on('end', () => process.exit(res.statusCode === 200 ? 0 : 1));
});
req.on('error', (error) => {
  process.stderr.write(`bench agent: could not report to ${url}: ${error.message}\n`);
  process.exit(1);
});
req.end(body);
