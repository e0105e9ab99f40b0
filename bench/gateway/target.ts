// The process that hosts the server under test, one at a time: the real gateway (with a
// refusing `IssueSignals`, or over Temporal) or a bare node:http server. It runs apart from
// the load generator so that, on a small machine, neither steals the other's event loop.
import { createServer, type Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { linePolicyFromConfig } from '../../src/config/line-policy.js';
import type { IssueSignals } from '../../src/gateway/issue-signals.js';
import { secretsFromEnv } from '../../src/gateway/secrets.js';
import { startGateway } from '../../src/gateway/server.js';
import { createTemporalSignals } from '../../src/gateway/temporal-signals.js';
import type { TargetCommand, TargetReply } from './protocol.js';

const config = loadConfig({ profile: 'sandbox' });
const secrets = secretsFromEnv();
// Info level, as deployed: each delivery's log line is formatted; only the write goes nowhere.
const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));

let signalCalls = 0;
/** The no-signal path must never reach the workflows: a call is counted and the request fails. */
const refusingSignals: IssueSignals = {
  async startOrSignal() {
    signalCalls += 1;
    throw new Error('the no-signal bench path asked for a signal-with-start');
  },
  async signal() {
    signalCalls += 1;
    throw new Error('the no-signal bench path asked for a signal');
  },
  async ready() {
    return true;
  },
};

let temporal: { client: Client; connection: Connection; address: string } | null = null;
let close: (() => Promise<void>) | null = null;
/** CPU usage when the running server started, for the `cpuMicros` of its `stopped` reply. */
let cpuAtStart: NodeJS.CpuUsage | null = null;

function reply(message: TargetReply): void {
  process.send?.(message);
}

async function temporalClient(address: string, namespace: string): Promise<Client> {
  if (temporal?.address !== address) {
    await temporal?.connection.close();
    const connection = await Connection.connect({ address });
    temporal = { client: new Client({ connection, namespace }), connection, address };
  }
  return temporal.client;
}

async function startBare(): Promise<string> {
  const server: Server = createServer((req, res) => {
    // Read the body fully, as any webhook receiver must before it can verify anything.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      Buffer.concat(chunks);
      res.writeHead(202, { 'content-type': 'application/json; charset=utf-8' });
      res.end('{"result":"ignored"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  close = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Idle keep-alive sockets would hold close() open until they time out.
    server.closeAllConnections();
    await closed;
  };
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

async function handle(command: TargetCommand): Promise<void> {
  switch (command.op) {
    case 'start': {
      if (close) throw new Error('a server is already running; stop it first');
      signalCalls = 0;
      if (command.target === 'bare') {
        const url = await startBare();
        cpuAtStart = process.cpuUsage();
        return reply({ op: 'started', url });
      }
      const signals: IssueSignals =
        command.target === 'gateway-temporal'
          ? createTemporalSignals({ client: await temporalClient(command.temporal.address, command.temporal.namespace), taskQueue: command.taskQueue, policy: linePolicyFromConfig(config) })
          : refusingSignals;
      const gateway = await startGateway({ config, secrets, signals, logger, port: 0 });
      close = () => gateway.close();
      cpuAtStart = process.cpuUsage();
      return reply({ op: 'started', url: gateway.url });
    }
    case 'stop': {
      const cpu = process.cpuUsage(cpuAtStart ?? undefined);
      cpuAtStart = null;
      await close?.();
      close = null;
      return reply({ op: 'stopped', signalCalls, cpuMicros: cpu.user + cpu.system });
    }
    case 'exit':
      await close?.();
      await temporal?.connection.close();
      process.exit(0);
  }
}

process.on('message', (command: TargetCommand) => {
  handle(command).catch((err: unknown) => reply({ op: 'error', message: err instanceof Error ? err.message : String(err) }));
});
reply({ op: 'ready' });
