// The Anthropic Messages API (/v1/messages, /v1/messages/count_tokens) through `corral serve`
// with the official `@anthropic-ai/sdk` client: plain and streamed replies, a tool-use round
// trip with tool_result, thinking blocks, stop sequences, count_tokens and the error shapes.
// The model has random weights, so tool calls are forced with tool_choice any / tool, and
// thinking and stop sequences with a GBNF grammar (corral's extension, passed through).
// Usage: node server_anthropic.mjs http://127.0.0.1:PORT QWEN3_MODEL
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import Ajv2020 from 'ajv/dist/2020.js';
import { check, checks } from './check.mjs';

const [base, qwen] = process.argv.slice(2);
const client = new Anthropic({ baseURL: base, apiKey: 'unused-key', maxRetries: 0 });
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
const ajv = new Ajv2020({ allErrors: true, strict: false });

const weatherSchema = {
  type: 'object',
  properties: {
    city: { type: 'string', enum: ['Paris', 'Oslo', 'Lima'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
  },
  required: ['city', 'days'],
  additionalProperties: false,
};
const timeSchema = { type: 'object', properties: { zone: { type: 'string', pattern: '^[A-Z]{3}$' } }, required: ['zone'] };
const tools = [
  { name: 'get_weather', description: 'Weather forecast', input_schema: weatherSchema },
  { name: 'get_time', description: 'Current time', input_schema: timeSchema },
];
const validate = { get_weather: ajv.compile(weatherSchema), get_time: ajv.compile(timeSchema) };
const user = [{ role: 'user', content: 'What is the weather in Paris for three days?' }];
const greedy = { temperature: 0, seed: 7 };

// Reads a raw SSE stream of Anthropic events (create with stream: true).
async function events(params) {
  const out = [];
  for await (const ev of await client.messages.create({ ...params, stream: true })) out.push(ev);
  return out;
}

// The event sequence must be message_start, blocks (start, deltas, stop, indices 0..n-1),
// message_delta, message_stop (the SDK drops the ping after message_start; rawEvents sees it).
function checkSequence(evs) {
  const types = evs.map((e) => e.type);
  assert.equal(types[0], 'message_start');
  assert.equal(types.at(-2), 'message_delta');
  assert.equal(types.at(-1), 'message_stop');
  let open = -1, next = 0;
  for (const e of evs.slice(1, -2)) {
    if (e.type === 'content_block_start') {
      assert.equal(open, -1, 'a block starts while another is open');
      assert.equal(e.index, next);
      open = e.index;
    } else if (e.type === 'content_block_delta') {
      assert.equal(e.index, open);
    } else if (e.type === 'content_block_stop') {
      assert.equal(e.index, open);
      open = -1;
      next++;
    } else {
      assert.fail(`unexpected event ${e.type}`);
    }
  }
  assert.equal(open, -1);
  assert.ok(next >= 1, 'no content block');
  assert.equal(evs[0].message.role, 'assistant');
  assert.ok(evs[0].message.usage.input_tokens > 0);
}

await check('messages.create: a message with text, stop_reason and usage; same text as chat completions', async () => {
  const r = await client.messages.create({ model: qwen, max_tokens: 6, messages: user, ...greedy });
  assert.equal(r.type, 'message');
  assert.equal(r.role, 'assistant');
  assert.match(r.id, /^msg_/);
  assert.equal(r.model, `${qwen}:latest`);  // the model that answered, by its full name
  assert.equal(r.content.length, 1);
  assert.equal(r.content[0].type, 'text');
  assert.ok(['end_turn', 'max_tokens'].includes(r.stop_reason), r.stop_reason);
  assert.ok(r.usage.output_tokens >= 1 && r.usage.output_tokens <= 6, `${r.usage.output_tokens}`);
  assert.equal(r.stop_reason === 'max_tokens', r.usage.output_tokens === 6);
  // The same request on /v1/chat/completions takes the same path: same prompt, same tokens.
  const o = await openai.chat.completions.create({ model: qwen, max_tokens: 6, messages: user, think: false, ...greedy });
  assert.equal(r.content[0].text, o.choices[0].message.content);
  assert.equal(r.usage.input_tokens, o.usage.prompt_tokens);
  assert.equal(r.usage.output_tokens, o.usage.completion_tokens);
});

await check('system as a string, as blocks and as a system-role message render the same prompt', async () => {
  const sys = 'You are terse.';
  const a = await client.messages.create({ model: qwen, max_tokens: 1, system: sys, messages: user });
  const b = await client.messages.create({ model: qwen, max_tokens: 1, system: [{ type: 'text', text: sys }], messages: user });
  const c = await client.messages.create({ model: qwen, max_tokens: 1, messages: [{ role: 'system', content: sys }, ...user] });
  const none = await client.messages.create({ model: qwen, max_tokens: 1, messages: user });
  assert.equal(a.usage.input_tokens, b.usage.input_tokens);
  assert.equal(a.usage.input_tokens, c.usage.input_tokens);
  assert.ok(a.usage.input_tokens > none.usage.input_tokens);
});

await check('count_tokens equals the input_tokens of the same request', async () => {
  const params = { model: qwen, system: 'Be brief.', messages: user, tools };
  const n = await client.messages.countTokens(params);
  const r = await client.messages.create({ ...params, max_tokens: 1 });
  assert.equal(n.input_tokens, r.usage.input_tokens);
  const withoutTools = await client.messages.countTokens({ model: qwen, system: 'Be brief.', messages: user });
  assert.ok(n.input_tokens > withoutTools.input_tokens + 20, `${n.input_tokens} vs ${withoutTools.input_tokens}`);
});

await check('streaming: the Anthropic event sequence, text equal to the non-streamed reply', async () => {
  const params = { model: qwen, max_tokens: 8, messages: user, ...greedy };
  const r = await client.messages.create(params);
  const evs = await events(params);
  checkSequence(evs);
  const text = evs.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text).join('');
  assert.equal(text, r.content[0].text);
  const md = evs.at(-2);
  assert.equal(md.delta.stop_reason, r.stop_reason);
  assert.equal(md.usage.output_tokens, r.usage.output_tokens);
  // The SDK's own stream helper accumulates the same message.
  const final = await client.messages.stream(params).finalMessage();
  assert.deepEqual(final.content, r.content);
  assert.equal(final.stop_reason, r.stop_reason);
  // On the wire: "event: <type>" lines naming each data's type, a ping second.
  const res = await fetch(`${base}/v1/messages`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ ...params, stream: true }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const blocks = (await res.text()).split('\n\n').filter((b) => b.length > 0);
  const wire = blocks.map((b) => {
    const [ev, data] = b.split('\n');
    assert.match(ev, /^event: /);
    assert.match(data, /^data: /);
    const j = JSON.parse(data.slice(6));
    assert.equal(ev.slice(7), j.type);
    return j;
  });
  assert.equal(wire[1].type, 'ping');
  assert.deepEqual(wire.filter((e) => e.type !== 'ping').map((e) => e.type), evs.map((e) => e.type));
});

await check('tool use round trip: tool_choice any -> tool_use, then tool_result answered', async () => {
  for (const seed of [1, 2]) {
    const r = await client.messages.create({ model: qwen, max_tokens: 200, messages: user, tools, tool_choice: { type: 'any' }, temperature: 1, seed });
    assert.equal(r.stop_reason, 'tool_use');
    const uses = r.content.filter((b) => b.type === 'tool_use');
    assert.ok(uses.length >= 1);
    for (const u of uses) {
      assert.match(u.id, /^toolu_/);
      assert.ok(validate[u.name], u.name);
      assert.ok(validate[u.name](u.input), `${u.name} ${JSON.stringify(u.input)}: ${ajv.errorsText(validate[u.name].errors)}`);
    }
    const next = await client.messages.create({
      model: qwen, max_tokens: 4, tools, ...greedy,
      messages: [...user, { role: 'assistant', content: r.content },
        { role: 'user', content: uses.map((u) => ({ type: 'tool_result', tool_use_id: u.id, content: '{"forecast": "sunny"}' })) }],
    });
    assert.equal(next.type, 'message');
    assert.ok(next.usage.input_tokens > r.usage.input_tokens, 'the tool turn is in the prompt');
  }
});

await check('tool_choice tool names the tool; disable_parallel_tool_use gives one call', async () => {
  const r = await client.messages.create({ model: qwen, max_tokens: 200, messages: user, tools, tool_choice: { type: 'tool', name: 'get_time', disable_parallel_tool_use: true }, temperature: 1, seed: 3 });
  const uses = r.content.filter((b) => b.type === 'tool_use');
  assert.equal(uses.length, 1);
  assert.equal(uses[0].name, 'get_time');
  assert.ok(validate.get_time(uses[0].input));
});

await check('streamed tool use: input_json_delta builds the input; the SDK parses it', async () => {
  const params = { model: qwen, max_tokens: 200, messages: user, tools, tool_choice: { type: 'tool', name: 'get_weather' }, temperature: 1, seed: 4 };
  const evs = await events(params);
  checkSequence(evs);
  const start = evs.find((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use');
  assert.ok(start, 'no tool_use block');
  assert.equal(start.content_block.name, 'get_weather');
  const json = evs.filter((e) => e.type === 'content_block_delta' && e.index === start.index).map((e) => e.delta.partial_json).join('');
  assert.ok(validate.get_weather(JSON.parse(json)), json);
  assert.equal(evs.at(-2).delta.stop_reason, 'tool_use');
  const final = await client.messages.stream(params).finalMessage();
  const use = final.content.find((b) => b.type === 'tool_use');
  assert.deepEqual(use.input, JSON.parse(json));
});

const thinkGrammar = 'root ::= "<think>\\nweighing the options\\n</think>\\n\\n" "The answer is " [0-9] [0-9]?';
await check('thinking enabled gives a thinking block (stream and not); disabled gives none', async () => {
  const params = { model: qwen, max_tokens: 64, messages: user, thinking: { type: 'enabled', budget_tokens: 1024 }, grammar: thinkGrammar, temperature: 1, seed: 3 };
  const r = await client.messages.create(params);
  assert.equal(r.content[0].type, 'thinking');
  assert.equal(r.content[0].thinking, 'weighing the options');
  assert.equal(r.content[1].type, 'text');
  assert.match(r.content[1].text, /^The answer is \d\d?$/);
  const evs = await events(params);
  checkSequence(evs);
  const thinking = evs.filter((e) => e.delta?.type === 'thinking_delta').map((e) => e.delta.thinking).join('');
  const text = evs.filter((e) => e.delta?.type === 'text_delta').map((e) => e.delta.text).join('');
  assert.equal(thinking, r.content[0].thinking);
  assert.equal(text, r.content[1].text);
  const off = await client.messages.create({ model: qwen, max_tokens: 4, messages: user, ...greedy });
  assert.ok(off.content.every((b) => b.type !== 'thinking'));
});

await check('stop_sequences: stop_reason stop_sequence names the string', async () => {
  const grammar = 'root ::= "alpha beta STOP gamma delta"';
  const params = { model: qwen, max_tokens: 40, messages: user, grammar, stop_sequences: ['NEVER', 'STOP'], ...greedy };
  const r = await client.messages.create(params);
  assert.equal(r.content[0].text, 'alpha beta ');
  assert.equal(r.stop_reason, 'stop_sequence');
  assert.equal(r.stop_sequence, 'STOP');
  const evs = await events(params);
  assert.equal(evs.at(-2).delta.stop_reason, 'stop_sequence');
  assert.equal(evs.at(-2).delta.stop_sequence, 'STOP');
  const plain = await client.messages.create({ ...params, stop_sequences: undefined });
  assert.equal(plain.stop_sequence, null);
  assert.equal(plain.content[0].text, 'alpha beta STOP gamma delta');
});

// Every error must be Anthropic's shape: {"type": "error", "error": {"type", "message"}}.
function anthropicError(status, type) {
  return (e) => {
    assert.equal(e.status, status, `status ${e.status}: ${e.message}`);
    assert.equal(e.error?.type, 'error', JSON.stringify(e.error));
    assert.equal(e.error.error.type, type);
    assert.equal(typeof e.error.error.message, 'string');
    return true;
  };
}

await check('errors: unknown model 404, missing max_tokens 400, unknown tool_use id 400, bad JSON 400', async () => {
  await assert.rejects(client.messages.create({ model: 'no-such-model', max_tokens: 4, messages: user }), anthropicError(404, 'not_found_error'));
  await assert.rejects(client.messages.create({ model: qwen, messages: user }), (e) => anthropicError(400, 'invalid_request_error')(e) && /max_tokens/.test(e.error.error.message));
  await assert.rejects(client.messages.create({
    model: qwen, max_tokens: 4, tools,
    messages: [...user, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_nope', content: 'x' }] }],
  }), (e) => anthropicError(400, 'invalid_request_error')(e) && /toolu_nope/.test(e.error.error.message));
  await assert.rejects(client.messages.create({ model: qwen, max_tokens: 4, messages: user, tool_choice: { type: 'any' } }), anthropicError(400, 'invalid_request_error'));
  await assert.rejects(client.messages.countTokens({ model: 'no-such-model', messages: user }), anthropicError(404, 'not_found_error'));
  const res = await fetch(`${base}/v1/messages`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' }, body: '{"model": ',
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.type, 'error');
  assert.equal(body.error.type, 'invalid_request_error');
});

console.log(`${checks.passed} anthropic checks passed`);
