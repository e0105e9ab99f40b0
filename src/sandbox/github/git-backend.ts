import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { isolatedGitEnv } from './git.js';
import type { SandboxLogger } from './types.js';

// Git's smart HTTP protocol, served by git's own CGI program so clients meet the real thing:
// ref advertisement, protocol v2, gzip'd request bodies and receive-pack all behave as on a
// real server. This module only translates between Node's HTTP objects and CGI.

let backendPath: string | undefined;

function gitHttpBackend(): string {
  backendPath ??= join(execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim(), 'git-http-backend');
  return backendPath;
}

export interface GitRequest {
  /** Directory holding `<owner>/<name>.git`. */
  projectRoot: string;
  /** `/<owner>/<name>.git/<service path>` */
  pathInfo: string;
  query: string;
  user: string;
}

/** Runs one smart-HTTP exchange; resolves when the response is fully written. */
export function serveGit(req: IncomingMessage, res: ServerResponse, git: GitRequest, logger: SandboxLogger): Promise<void> {
  return new Promise((resolve) => {
    const env = isolatedGitEnv({
      GIT_PROJECT_ROOT: git.projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: git.pathInfo,
      QUERY_STRING: git.query,
      REQUEST_METHOD: req.method ?? 'GET',
      REMOTE_USER: git.user,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
    });
    // Without CONTENT_LENGTH the backend reads to EOF, which is what a chunked push needs.
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    const protocol = req.headers['git-protocol'];
    if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;

    const child = spawn(gitHttpBackend(), [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let headerBuffer: Buffer | null = Buffer.alloc(0);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

    child.stdout.on('data', (chunk: Buffer) => {
      if (headerBuffer === null) {
        res.write(chunk);
        return;
      }
      headerBuffer = Buffer.concat([headerBuffer, chunk]);
      const crlf = headerBuffer.indexOf('\r\n\r\n');
      const lf = headerBuffer.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
      if (end < 0) return;
      const separator = end === crlf ? 4 : 2;
      const head = headerBuffer.subarray(0, end).toString('latin1');
      const rest = headerBuffer.subarray(end + separator);
      headerBuffer = null;
      let status = 200;
      for (const line of head.split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      if (rest.length > 0) res.write(rest);
    });

    child.on('error', (error) => {
      logger.error({ err: error.message }, 'git http-backend could not start');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('git http-backend could not start\n');
      resolve();
    });
    child.on('close', (code) => {
      if (code !== 0) logger.warn({ code, stderr: stderr.trim(), path: git.pathInfo }, 'git http-backend exited with an error');
      if (!res.headersSent) res.writeHead(code === 0 ? 200 : 500, { 'content-type': 'text/plain' });
      res.end();
      resolve();
    });

    req.pipe(child.stdin);
    // A client that hangs up mid-push must not leave the CGI process behind.
    req.on('aborted', () => child.kill('SIGTERM'));
    child.stdin.on('error', () => {});
  });
}
