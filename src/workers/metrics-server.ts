// The worker's /metrics: the Temporal SDK's own metrics (its Prometheus exporter, bound to an
// internal port) followed by Conveyor's registry, on the one port operators scrape.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: { port: number; host?: string; registry: Registry; sdkMetricsUrl?: string }): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: metrics are at /metrics\n');
      return;
    }
    void (async () => {
      const sdk = options.sdkMetricsUrl
        ? await fetch(options.sdkMetricsUrl, { signal: AbortSignal.timeout(5_000) }).then(
            async (r) => (r.ok ? await r.text() : `# the SDK's exporter answered ${r.status}\n`),
            (err: unknown) => `# the SDK's exporter did not answer: ${(err as Error).message}\n`,
          )
        : '';
      const own = await options.registry.metrics();
      response.writeHead(200, { 'content-type': options.registry.contentType }).end(`${sdk}${sdk && !sdk.endsWith('\n') ? '\n' : ''}${own}`);
    })().catch((err: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
