// HTTP adapter over the core in `receive.ts`: fastify routes, the raw-body parser, the body
// limit, health and readiness, metrics. No request can crash the process: every error becomes
// a short JSON answer.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config/load.js';
import type { IssueSignals } from './issue-signals.js';
import type { FailureSummary } from '../temporal/failure-report.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { receiveGithub, receiveLinear, type ReceiveDeps, type ReceiveResult } from './receive.js';
import type { WebhookSecrets } from './secrets.js';
import { linearVerifier } from './verify.js';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_GATEWAY_PORT = 8787;

export interface GatewayOptions {
  config: Config;
  secrets: WebhookSecrets;
  signals: IssueSignals;
  logger: Logger;
  /** Clock for the Linear timestamp check (ms since the epoch). */
  now?: () => number;
  /** Largest accepted body in bytes; larger requests get 413. */
  bodyLimit?: number;
  /** Defaults to a registry of the gateway's own. */
  metrics?: GatewayMetrics;
  /** The failure report over the last 7 days (cached): /readyz detail and the unknown-share gauges. */
  failures?: () => Promise<FailureSummary | null>;
  /** The unfinished issues an issue blocks (see ReceiveDeps.blockedBy). */
  blockedBy?: ReceiveDeps['blockedBy'];
}

export function createGateway(options: GatewayOptions): FastifyInstance {
  const { secrets, signals, logger } = options;
  if (secrets.linear.length === 0 || secrets.github.length === 0) {
    throw new ConfigError('The webhook gateway needs at least one Linear and one GitHub webhook secret: set LINEAR_WEBHOOK_SECRETS and GITHUB_WEBHOOK_SECRETS (read with secretsFromEnv()).');
  }
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const metrics = options.metrics ?? createGatewayMetrics(options.failures);
  const deps: ReceiveDeps = {
    factory: options.config.factory,
    linear: linearVerifier(secrets.linear),
    githubSecrets: secrets.github,
    signals,
    logger,
    metrics,
    now: options.now ?? Date.now,
    ...(options.blockedBy ? { blockedBy: options.blockedBy } : {}),
  };
  // What became of each request, for the requests counter (kept off FastifyRequest's type).
  const outcomes = new WeakMap<FastifyRequest, string>();

  // Typed as fastify's own logger interface so the instance is a plain FastifyInstance.
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit,
    // One log line per delivery comes from receive.ts; fastify's per-request lines add nothing.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });

  // Signatures are over the exact bytes received: keep the body as a Buffer; receive.ts parses it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // A callback hook rather than an async one: no promise per request for a counter.
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requests.inc({ route: request.routeOptions.url ?? 'unmatched', outcome: outcomes.get(request) ?? String(reply.statusCode) });
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 413) {
      outcomes.set(request, 'too-large');
      // Close the connection rather than read the rest of an oversized body.
      return reply.code(413).header('connection', 'close').send({ error: `body is larger than ${bodyLimit} bytes` });
    }
    if (status === 415) {
      outcomes.set(request, 'bad-request');
      return reply.code(400).send({ error: 'expected Content-Type: application/json; configure the webhook to send JSON' });
    }
    if (status >= 400 && status < 500) {
      outcomes.set(request, 'bad-request');
      return reply.code(400).send({ error: 'malformed request' });
    }
    outcomes.set(request, 'error');
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });

  app.setNotFoundHandler((request, reply) => {
    outcomes.set(request, 'not-found');
    return reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  const send = (request: FastifyRequest, reply: FastifyReply, result: ReceiveResult) => {
    outcomes.set(request, result.outcome);
    if (result.headers) reply.headers(result.headers);
    return reply.code(result.status).send(result.body);
  };
  const webhookBody = (request: FastifyRequest) => (Buffer.isBuffer(request.body) ? request.body : undefined);

  app.post('/webhooks/linear', async (request, reply) => send(request, reply, await receiveLinear(deps, { headers: request.headers, body: webhookBody(request) })));
  app.post('/webhooks/github', async (request, reply) => send(request, reply, await receiveGithub(deps, { headers: request.headers, body: webhookBody(request) })));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    if (await signals.ready()) {
      outcomes.set(request, 'ready');
      // Detail, not readiness: the gateway takes deliveries whatever the failure rules say.
      const failures = await options.failures?.().catch(() => null);
      if (!failures) return { status: 'ready' };
      return { status: 'ready', failures: { since: failures.since, total: failures.total, unknownShare: Number(failures.unknownShare.toFixed(3)), alert: failures.alert } };
    }
    outcomes.set(request, 'unavailable');
    return reply.code(503).send({ error: 'Temporal is unreachable; deliveries are refused with 503 until it answers' });
  });
  app.get('/metrics', async (_request, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));

  return app;
}

export interface StartedGateway {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Listen on `port` (0 picks a free one; default 8787) and `host` (default 127.0.0.1). */
export async function startGateway(options: GatewayOptions & { port?: number; host?: string }): Promise<StartedGateway> {
  const app = createGateway(options);
  const host = options.host ?? '127.0.0.1';
  const wanted = options.port ?? DEFAULT_GATEWAY_PORT;
  try {
    await app.listen({ port: wanted, host });
  } catch (err) {
    await app.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError(`The webhook gateway cannot listen on ${host}:${wanted}: the port is in use. Stop what holds it or pick another port.`);
    }
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : wanted;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shownHost}:${port}`, app, close: () => app.close() };
}
