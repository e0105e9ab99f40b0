// The model emulator: one loopback HTTP port with two doors, the Anthropic Messages API
// (`POST /v1/messages`, what Claude Code calls with ANTHROPIC_BASE_URL) and the OpenAI
// Responses API (`POST /v1/responses`, what Codex calls through a custom model provider). Every
// request is checked against the provider's published shape and rejected with the provider's
// own error body when it is malformed, so the emulator cannot drift from what the CLIs send.
// What it answers is scripted by markers in the prompt (see scripts.ts).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicConversation, anthropicError, anthropicEvents, anthropicMessage, checkMessagesRequest, type SseEvent } from './anthropic.js';
import { checkResponsesRequest, openaiConversation, openaiError, openaiEvents, openaiResponse } from './openai.js';
import { markerIn, nextStep, type Conversation, type Step } from './scripts.js';

export interface ModelEmulatorOptions {
  port?: number;
  host?: string;
  /** Keys the Anthropic door accepts (x-api-key or Bearer). */
  anthropicKeys: string[];
  /** Keys the OpenAI door accepts (Bearer). */
  openaiKeys: string[];
  logger?: { warn: (fields: Record<string, unknown>, message: string) => void };
}

export interface ModelRequestRecord {
  provider: 'anthropic' | 'openai';
  marker: string | null;
  /** What was answered: a status code, `stream` (SSE), `whole` (one JSON body), `cut` or `silent`. */
  answer: string;
  /** The tool the answer called, if any (Write, Bash, exec). */
  tool: string | null;
  /** Tool results the request carried since its prompt (a resumed run carries the old ones before it). */
  toolResults: number;
  /** All user text in the request, so a test can see a resumed session's history. */
  messages: number;
}

export interface ModelEmulator {
  url: string;
  /** Base URL for Codex's custom provider (`…/v1`). */
  openaiBaseUrl: string;
  /** Every request answered, in order. */
  readonly requests: ModelRequestRecord[];
  /** Requests rejected as malformed: a test asserts none. */
  readonly invalidRequests: Array<{ provider: string; error: string }>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, answer: { status: number; body: unknown; headers: Record<string, string> }): void {
  res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  res.end(JSON.stringify(answer.body));
}

function writeEvents(res: ServerResponse, events: SseEvent[]): void {
  for (const { event, data } of events) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export async function startModelEmulator(options: ModelEmulatorOptions): Promise<ModelEmulator> {
  const requests: ModelRequestRecord[] = [];
  const invalidRequests: Array<{ provider: string; error: string }> = [];
  const seen = new Set<string>();
  const held = new Set<ServerResponse>();
  let counter = 0;

  const keyOf = (req: IncomingMessage): string | null => {
    const header = req.headers['x-api-key'];
    if (typeof header === 'string') return header;
    const auth = req.headers.authorization;
    return auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : null;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://models.local');
    if (req.method === 'GET' && url.pathname === '/_sandbox/requests') return sendJson(res, { status: 200, body: { requests, invalidRequests }, headers: {} });
    const provider = url.pathname === '/v1/messages' ? 'anthropic' : url.pathname === '/v1/responses' ? 'openai' : null;
    const errorOf = provider === 'openai' ? openaiError : anthropicError;
    if (provider === null || req.method !== 'POST') return sendJson(res, errorOf('not-found', `${req.method} ${url.pathname} is not served by the model emulator`));

    const key = keyOf(req);
    const keys = provider === 'anthropic' ? options.anthropicKeys : options.openaiKeys;
    if (key === null || !keys.includes(key)) return sendJson(res, errorOf('auth'));
    if (provider === 'anthropic' && typeof req.headers['anthropic-version'] !== 'string') {
      invalidRequests.push({ provider, error: 'anthropic-version header missing' });
      return sendJson(res, anthropicError('invalid', 'anthropic-version: header is required'));
    }

    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      invalidRequests.push({ provider, error: 'body is not JSON' });
      return sendJson(res, errorOf('invalid', 'The request body is not valid JSON.'));
    }

    let conversation: Conversation;
    let model: string;
    let messages: number;
    let stream: boolean;
    if (provider === 'anthropic') {
      const checked = checkMessagesRequest(body);
      if ('error' in checked) {
        invalidRequests.push({ provider, error: checked.error });
        return sendJson(res, anthropicError('invalid', checked.error));
      }
      conversation = anthropicConversation(checked.request);
      model = checked.request.model;
      messages = checked.request.messages.length;
      stream = checked.request.stream === true;
    } else {
      const checked = checkResponsesRequest(body);
      if ('error' in checked) {
        invalidRequests.push({ provider, error: checked.error });
        return sendJson(res, openaiError('invalid', checked.error, checked.param));
      }
      conversation = openaiConversation(checked.request);
      model = checked.request.model;
      messages = Array.isArray(checked.request.input) ? checked.request.input.length : 1;
      stream = checked.request.stream === true;
    }

    const id = (counter += 1);
    const fingerprint = `${provider}:${createHash('sha256').update(conversation.prompt).digest('hex')}`;
    const first = !seen.has(fingerprint);
    seen.add(fingerprint);
    const step: Step = nextStep(conversation, first);
    const record = (answer: string, tool: string | null = null) => requests.push({ provider, marker: markerIn(conversation.prompt), answer, tool, toolResults: conversation.toolResultsSincePrompt, messages });

    if (step.kind === 'fail') {
      const answer = errorOf(step.fault);
      record(String(answer.status));
      return sendJson(res, answer);
    }
    if (!stream) return answerWhole(res, provider, step, model, id, record);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    if (step.kind === 'silent') {
      record('silent');
      res.flushHeaders();
      held.add(res);
      res.once('close', () => held.delete(res));
      return;
    }
    const events = provider === 'anthropic' ? anthropicEvents(model, id, step.content, step.usage) : openaiEvents(model, id, step.content, step.usage);
    const tool = step.content.type === 'text' ? null : provider === 'openai' ? 'exec' : step.content.type === 'write' ? 'Write' : 'Bash';
    if (step.cut) {
      record('cut', tool);
      writeEvents(res, events.slice(0, Math.max(1, Math.floor(events.length / 2))));
      // Let the first half reach the client, then drop the connection without a final event.
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    record('stream', tool);
    writeEvents(res, events);
    res.end();
  }

  /** A request without `stream: true` gets one JSON body (the message, or the response), as the APIs answer it. */
  function answerWhole(res: ServerResponse, provider: 'anthropic' | 'openai', step: Exclude<Step, { kind: 'fail' }>, model: string, id: number, record: (answer: string, tool?: string | null) => void): void {
    if (step.kind === 'silent') {
      record('silent');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      held.add(res);
      res.once('close', () => held.delete(res));
      return;
    }
    const body = JSON.stringify(provider === 'anthropic' ? anthropicMessage(model, id, step.content, step.usage) : openaiResponse(model, id, step.content, step.usage));
    const tool = step.content.type === 'text' ? null : provider === 'openai' ? 'exec' : step.content.type === 'write' ? 'Write' : 'Bash';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    if (step.cut) {
      record('cut', tool);
      // Half the promised body, then the connection drops: the client sees a body cut short.
      res.write(body.slice(0, Math.floor(body.length / 2)));
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    record('whole', tool);
    res.end(body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.logger?.warn({ err: error instanceof Error ? error.message : String(error), url: req.url }, 'model emulator request failed');
      if (!res.headersSent) sendJson(res, anthropicError('invalid', 'the request could not be read'));
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}`;
  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    requests,
    invalidRequests,
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
