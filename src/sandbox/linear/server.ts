import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { HttpReply } from './graphql-handler.js';

// The emulator's HTTP surface: POST /graphql (Linear's API) and /_sandbox/... (the admin API).
// Bodies are capped; any unexpected failure becomes a short JSON error, and the detail goes to
// the log, never to the client.

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface RouteHandlers {
  graphql(raw: string, authorization: string | undefined): HttpReply;
  admin(method: string, path: string, raw: string): HttpReply;
}

class BodyTooLarge extends Error {}

function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, reply: HttpReply): void {
  if (response.headersSent) return;
  response.writeHead(reply.status, { ...reply.headers, 'Content-Length': Buffer.byteLength(reply.body) });
  response.end(reply.body);
}

function jsonError(status: number, message: string): HttpReply {
  return { status, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify({ error: message }) };
}

export function createEmulatorServer(handlers: RouteHandlers, logger: Logger, bodyLimit = BODY_LIMIT_BYTES): Server {
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = request.method ?? 'GET';
    const path = new URL(request.url ?? '/', 'http://emulator').pathname;
    if (path === '/graphql') {
      if (method !== 'POST') return send(response, jsonError(405, 'Send GraphQL requests as POST with a JSON body.'));
      const raw = await readBody(request, bodyLimit);
      const authorization = request.headers.authorization;
      return send(response, handlers.graphql(raw, authorization));
    }
    if (path === '/_sandbox' || path.startsWith('/_sandbox/')) {
      const raw = method === 'GET' || method === 'HEAD' ? '' : await readBody(request, bodyLimit);
      return send(response, handlers.admin(method, path, raw));
    }
    return send(response, jsonError(404, `No route ${method} ${path}: the Linear API is at POST /graphql, the admin API under /_sandbox/.`));
  };

  return createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof BodyTooLarge) {
        send(response, jsonError(413, `The request body is larger than ${bodyLimit} bytes.`));
        return;
      }
      logger.error({ err: error, url: request.url }, 'linear emulator: request failed');
      send(response, jsonError(500, 'Internal error in the Linear emulator; its log has the details.'));
    });
  });
}
