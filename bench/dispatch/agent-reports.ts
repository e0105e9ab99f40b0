// The listener the bench's agent (agent.mjs) reports its start to. A dispatch waits here for its
// agent; before the agent is answered (and may exit), `beforeAnswer` runs, which the bench uses
// to take the issue out of the ready set.
import { createServer, type Server } from 'node:http';

export interface AgentStart {
  /** The worktree's directory name: the lowercased issue key. */
  key: string;
  /** Wall clock when the agent's process began (performance.timeOrigin), ms. */
  processStartedAt: number;
  /** Wall clock when its script ran, after Node had booted, ms. */
  scriptStartedAt: number;
}

export interface AgentReports {
  url: string;
  /** Resolves when the agent for `key` reports; rejects after `timeoutMs`. */
  expect(key: string, timeoutMs: number): Promise<AgentStart>;
  /** Reports that nobody was waiting for (an agent started twice for one issue, say). */
  readonly unexpected: AgentStart[];
  close(): Promise<void>;
}

export async function startAgentReports(beforeAnswer: (start: AgentStart) => Promise<void>): Promise<AgentReports> {
  const waiting = new Map<string, (start: AgentStart) => void>();
  const unexpected: AgentStart[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        let start: AgentStart;
        try {
          start = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AgentStart;
        } catch {
          res.writeHead(400).end();
          return;
        }
        const resolve = waiting.get(start.key);
        waiting.delete(start.key);
        if (!resolve) {
          unexpected.push(start);
          res.writeHead(404).end();
          return;
        }
        try {
          await beforeAnswer(start);
          res.writeHead(200).end();
        } catch {
          res.writeHead(500).end();
        }
        resolve(start);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/agent-started`;
  return {
    url,
    unexpected,
    expect(key, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(key);
          reject(new Error(`the agent for ${key} did not start within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        waiting.set(key, (start) => {
          clearTimeout(timer);
          resolve(start);
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
