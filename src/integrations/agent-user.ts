import { execFileSync } from 'node:child_process';
import { IntegrationError } from './errors.js';

// The unprivileged user agents run as. A process can read another's /proc/<pid>/environ only
// when it runs as the same user (or is privileged), so an agent run as its own user cannot read
// the worker's credentials, and what it plants can only ever run with its own rights.

export interface AgentUser {
  name: string;
  uid: number;
  gid: number;
}

/** `agents.runAs`: a user name, or `uid:gid`. Unknown users stop start-up with how to create one. */
export function resolveAgentUser(runAs: string): AgentUser {
  const numeric = /^(\d+):(\d+)$/.exec(runAs);
  if (numeric) return { name: runAs, uid: Number(numeric[1]), gid: Number(numeric[2]) };
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', runAs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new IntegrationError(
      `agents.runAs names the user "${runAs}", which does not exist on this host: create it (e.g. \`useradd --system --user-group --no-create-home --shell /usr/sbin/nologin ${runAs}\`) or set agents.runAs to another unprivileged user.`,
      'logic',
      { service: 'agent' },
    );
  }
  const [name = runAs, , uid = '', gid = ''] = line.split(':');
  if (Number(uid) === 0) throw new IntegrationError(`agents.runAs names "${runAs}", which is root: agents must run as an unprivileged user.`, 'logic', { service: 'agent' });
  return { name, uid: Number(uid), gid: Number(gid) };
}

/** Whether this process runs as root, where agents must run as another user. */
export function workerIsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
