// Temporal's user metadata for Conveyor's runs: the static summary (one line) and details
// (markdown) the Web UI shows in every list row and at the top of a run, instead of a bare
// `conveyor-issue-<uuid>`. They are set when a run starts and never change: a run that
// continues as new starts without them (the SDK's continueAsNew takes no user metadata), so
// the list shows them on an issue's first run of a chain, and the search attributes
// (`ConveyorIssueKey`, `ConveyorPhase`, …) stay the way to find every run.

import { markdownText } from '../domain/markdown.js';

/** What the starter of an issue run knows about the issue; everything but the id is optional. */
export interface IssueRunSubject {
  /** The tracker's stable id. */
  id: string;
  /** The human key (`ENG-12`). */
  key?: string;
  title?: string;
  /** The issue's page in the tracker. */
  url?: string;
  /** The repo the issue routes to, when the starter has routed it (the sweep has; a webhook has not). */
  repo?: { name: string; url?: string };
}

/** The static user metadata of one workflow start. */
export interface RunMetadata {
  staticSummary: string;
  staticDetails?: string;
}

// The server refuses a start whose summary or details are too large (its limits are per
// namespace); an issue title is never meant to be long, so cut well below them.
const SUMMARY_LIMIT = 200;
const TITLE_IN_DETAILS_LIMIT = 500;

/**
 * `DEMO-1 · Add a greeting section to the README` (key, or the stable id when the starter has no
 * key, then the title), and details with a markdown link to the issue and, when known, the repo.
 */
export function issueRunMetadata(issue: IssueRunSubject): RunMetadata {
  const name = issue.key ?? `issue ${issue.id}`;
  const title = issue.title ? oneLine(issue.title) : '';
  const staticSummary = cut(title ? `${name} · ${title}` : name, SUMMARY_LIMIT);
  const lines: string[] = [];
  const issueText = `${markdownText(name)}${title ? ` ${markdownText(cut(title, TITLE_IN_DETAILS_LIMIT))}` : ''}`;
  lines.push(`**Issue:** ${issue.url && isWebUrl(issue.url) ? `[${issueText}](${issue.url})` : issueText}`);
  if (issue.repo) {
    const repoText = markdownText(issue.repo.name);
    lines.push(`**Repo:** ${issue.repo.url && isWebUrl(issue.repo.url) ? `[${repoText}](${issue.repo.url})` : repoText}`);
  }
  lines.push(`**Stable id:** \`${issue.id}\``);
  return { staticSummary, staticDetails: lines.join('\n\n') };
}

/** The fleet's: one per task queue, and every dispatch waits on it. */
export function fleetRunMetadata(taskQueue: string): RunMetadata {
  return {
    staticSummary: 'Conveyor fleet: leases and queue',
    staticDetails: [
      `**Task queue:** \`${taskQueue}\``,
      'Grants agent slots and names to issue runs, in priority order. Its `fleetState` query (Queries tab, or `conveyor fleet show`) lists the caps, the leases with their holder runs, and the waiting queue; its memo holds the configuration and its fingerprint.',
    ].join('\n\n'),
  };
}

/**
 * A repo's web page on the forge: `https://github.com/<repo>` unless `forge.apiUrl` names
 * another server, whose web root is the API URL less GitHub's `/api/v3` (GitHub Enterprise
 * Server, and the sandbox's emulator, which serves its API the same way).
 */
export function repoWebUrl(repo: string, forgeApiUrl?: string): string {
  if (!forgeApiUrl || /^https:\/\/api\.github\.com\/?$/.test(forgeApiUrl)) return `https://github.com/${repo}`;
  const root = forgeApiUrl.replace(/\/+$/, '').replace(/\/api\/v3$/, '');
  return `${root}/${repo}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function cut(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}


/** Only http(s) links: an issue URL is read from a payload and must not become `javascript:`. */
function isWebUrl(url: string): boolean {
  return /^https?:\/\/[^\s()]+$/.test(url);
}
