#!/usr/bin/env node
// The demo agent, a few seconds slower: the cluster test restarts the Temporal server while
// agents run, so an agent must still be running when the restart comes. Usage:
//   node slow-demo-agent.mjs DELAY_MS DEMO_AGENT PROMPT_FILE
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const [delayMs, demoAgent, promptFile] = process.argv.slice(2);
process.stdout.write(`slow-demo-agent: pid ${process.pid}, waiting ${delayMs} ms before the demo agent\n`);
await sleep(Number(delayMs));
const run = spawnSync(process.execPath, [demoAgent, promptFile], { stdio: 'inherit' });
process.exitCode = run.status ?? 1;
