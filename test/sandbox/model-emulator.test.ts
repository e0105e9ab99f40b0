// The model emulator over real HTTP: requests are checked against the providers' published
// shapes and refused with the provider's own error body, and the scripted steps come out in
// each provider's streaming format. The real CLIs against it are in test/integrations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelEmulator, type ModelEmulator } from '../../src/sandbox/models/index.js';

let emulator: ModelEmulator;
beforeAll(async () => {
  emulator = await startModelEmulator({ anthropicKeys: ['ant-key'], openaiKeys: ['oai-key'] });
});
afterAll(async () => {
  await emulator?.close();
});

const anthropic = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${emulator.url}/v1/messages?beta=true`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'ant-key', 'anthropic-version': '2023-06-01', ...headers }, body: JSON.stringify(body) });
const openai = (body: unknown, key = 'oai-key') => fetch(`${emulator.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });

/** The SSE events of a response, as (event name, data) pairs. */
async function events(response: Response): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => ({ event: /^event: (.*)$/m.exec(block)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown> }));
}

const MESSAGE = { model: 'claude-test', max_tokens: 1024, stream: true, system: 'Primary working directory: /work/tree', messages: [{ role: 'user', content: '# ENG-1: Add a guide\n\nPlease.' }] };

describe('the Anthropic Messages door', () => {
  it('streams a tool_use block for the first step, with the published event sequence', async () => {
    const response = await anthropic(MESSAGE);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const seen = await events(response);
    expect(seen.map((e) => e.event)).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(seen[2]!.data.content_block).toMatchObject({ type: 'tool_use', name: 'Write' });
    const json = seen.filter((e) => e.event === 'content_block_delta').map((e) => (e.data.delta as { partial_json: string }).partial_json).join('');
    expect(JSON.parse(json)).toMatchObject({ file_path: '/work/tree/docs/eng-1-add-a-guide.md' });
    expect(seen[6]!.data).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('refuses malformed requests with the API’s error shape', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...MESSAGE, max_tokens: undefined }, /max_tokens/],
      [{ ...MESSAGE, messages: [{ role: 'assistant', content: 'hi' }] }, /first message must use the "user" role/],
      [{ ...MESSAGE, messages: [{ role: 'robot', content: 'hi' }] }, /messages\.0/],
      [{ ...MESSAGE, messages: [...MESSAGE.messages, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Write', input: {} }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_2', content: 'ok' }] }] }, /`tool_use` ids were found without `tool_result`/],
      [{ ...MESSAGE, messages: [...MESSAGE.messages, { role: 'assistant', content: 'ok' }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'ok' }] }] }, /unexpected `tool_use_id`/],
    ];
    for (const [body, message] of cases) {
      const response = await anthropic(body);
      expect(response.status).toBe(400);
      const error = (await response.json()) as { type: string; error: { type: string; message: string } };
      expect(error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      expect(error.error.message).toMatch(message);
    }
    const noVersion = await fetch(`${emulator.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'ant-key' }, body: JSON.stringify(MESSAGE) });
    expect(noVersion.status).toBe(400);
  });

  it('answers a wrong key, a rate limit and an overload as Anthropic does', async () => {
    const wrong = await anthropic(MESSAGE, { 'x-api-key': 'nope' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const limited = await anthropic({ ...MESSAGE, messages: [{ role: 'user', content: '# Limits [model:rate-limit-once]' }] });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toMatchObject({ error: { type: 'rate_limit_error' } });
    expect((await anthropic({ ...MESSAGE, messages: [{ role: 'user', content: '# Limits [model:rate-limit-once]' }] })).status).toBe(200);
    const overloaded = await anthropic({ ...MESSAGE, messages: [{ role: 'user', content: '# Busy [model:overloaded]' }] });
    expect(overloaded.status).toBe(529);
    expect(await overloaded.json()).toMatchObject({ error: { type: 'overloaded_error' } });
  });

  it('holds the first request of a silent-once conversation open with no event, and answers the next one', async () => {
    const body = { ...MESSAGE, messages: [{ role: 'user', content: '# Busy for a while [model:silent-once]' }] };
    const first = await anthropic(body);
    expect(first.status).toBe(200);
    const reader = first.body!.getReader();
    // Nothing comes: the read is still pending when the second request has been answered.
    let firstChunk: string | null = null;
    void reader.read().then(({ value }) => (firstChunk = value ? new TextDecoder().decode(value) : 'end'), () => (firstChunk = 'aborted'));
    const second = await events(await anthropic(body));
    expect(second.map((e) => e.event)).toContain('message_stop');
    expect(firstChunk).toBeNull();
    await reader.cancel();
    expect(emulator.requests.filter((r) => r.marker === 'silent-once').map((r) => r.answer)).toEqual(['silent', 'stream']);
  });

  it('cuts a stream mid-way: the body ends without message_stop', async () => {
    const response = await anthropic({ ...MESSAGE, messages: [{ role: 'user', content: '# Cut [model:cut]' }] });
    const text = await response.text().catch(() => 'connection reset');
    expect(text).not.toContain('message_stop');
  });
});

describe('the OpenAI Responses door', () => {
  const REQUEST = { model: 'gpt-test', stream: true, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: '<environment_context><cwd>/w</cwd></environment_context>' }] }, { type: 'message', role: 'user', content: [{ type: 'input_text', text: '# ENG-2: Add a page' }] }] };

  it('streams a custom tool call to exec whose JavaScript applies a patch, then completes with usage', async () => {
    const seen = await events(await openai(REQUEST));
    expect(seen.map((e) => e.event)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.output_item.done', 'response.completed']);
    const item = seen[3]!.data.item as { type: string; name: string; input: string };
    expect(item).toMatchObject({ type: 'custom_tool_call', name: 'exec' });
    expect(item.input).toContain('*** Add File: docs/eng-2-add-a-page.md');
    expect((seen[4]!.data.response as { usage: unknown }).usage).toMatchObject({ input_tokens: 1200, output_tokens: 150 });
  });

  it('refuses malformed requests and unknown call ids with OpenAI’s error shape', async () => {
    const cases: unknown[] = [
      { ...REQUEST, model: undefined },
      { ...REQUEST, input: [{ type: 'message', role: 'wizard', content: 'x' }] },
      { ...REQUEST, input: [...REQUEST.input, { type: 'custom_tool_call_output', call_id: 'call_missing', output: 'ok' }] },
    ];
    for (const body of cases) {
      const response = await openai(body);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', message: expect.any(String), param: expect.anything() } });
    }
    const wrong = await openai(REQUEST, 'nope');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
  });
});
