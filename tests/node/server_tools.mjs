// Tool calls, thinking and logprobs through `corral serve`, with the official `ollama` and
// `openai` npm clients. The models have random weights, so tool calls are forced: tool_choice
// required / a named function (the grammar built from the tools' schemas), or a GBNF grammar
// that writes a call or a thinking block; arguments are validated with ajv.
// Usage: node server_tools.mjs http://127.0.0.1:PORT QWEN3_MODEL LLAMA3_TOOLS_MODEL
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import Ajv2020 from 'ajv/dist/2020.js';
import { check, checks } from './check.mjs';

const [base, qwen, llama] = process.argv.slice(2);
const ollama = new Ollama({ host: base });
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
const ajv = new Ajv2020({ allErrors: true, strict: false });

const weatherSchema = {
  type: 'object',
  properties: {
    city: { type: 'string', enum: ['Paris', 'Oslo', 'Lima'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
    units: { type: 'string', enum: ['C', 'F'] },
  },
  required: ['city', 'days'],
  additionalProperties: false,
};
const timeSchema = {
  type: 'object',
  properties: { zone: { type: 'string', pattern: '^[A-Z]{3}$' } },
  required: ['zone'],
};
const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather forecast', parameters: weatherSchema } },
  { type: 'function', function: { name: 'get_time', description: 'Current time', parameters: timeSchema } },
];
const schemaOf = { get_weather: ajv.compile(weatherSchema), get_time: ajv.compile(timeSchema) };
const user = [{ role: 'user', content: 'What is the weather in Paris for three days?' }];
const sampled = (seed) => ({ temperature: 1.0, seed, max_tokens: 300, think: false });

function validArgs(name, args) {
  const v = schemaOf[name];
  assert.ok(v, `unknown tool ${name}`);
  assert.ok(v(args), `${name} arguments ${JSON.stringify(args)}: ${ajv.errorsText(v.errors)}`);
}

await check('openai tool_choice required forces a valid call (3 seeds)', async () => {
  for (const seed of [1, 2, 3]) {
    const r = await openai.chat.completions.create({ model: qwen, messages: user, tools, tool_choice: 'required', ...sampled(seed) });
    const c = r.choices[0];
    assert.equal(c.finish_reason, 'tool_calls');
    assert.ok(c.message.tool_calls.length >= 1);
    for (const call of c.message.tool_calls) {
      assert.equal(call.type, 'function');
      assert.match(call.id, /^call_/);
      assert.equal(typeof call.function.arguments, 'string');
      validArgs(call.function.name, JSON.parse(call.function.arguments));
    }
    assert.ok(c.message.content === null || c.message.content === '', `content: ${c.message.content}`);
  }
  // parallel_tool_calls false: exactly one call, whatever the model would do.
  for (const seed of [1, 2, 3]) {
    const r = await openai.chat.completions.create({ model: qwen, messages: user, tools, tool_choice: 'required', parallel_tool_calls: false, ...sampled(seed) });
    assert.equal(r.choices[0].message.tool_calls.length, 1);
  }
});

await check('openai named tool_choice gives that function', async () => {
  for (const seed of [4, 5]) {
    const r = await openai.chat.completions.create({
      model: qwen, messages: user, tools, tool_choice: { type: 'function', function: { name: 'get_time' } }, ...sampled(seed),
    });
    const calls = r.choices[0].message.tool_calls;
    assert.equal(calls.length, 1);
    assert.equal(calls[0].function.name, 'get_time');
    validArgs('get_time', JSON.parse(calls[0].function.arguments));
  }
});

await check('openai streaming tool call arrives as a delta with finish_reason tool_calls', async () => {
  const stream = await openai.chat.completions.create({
    model: qwen, messages: user, tools, tool_choice: { type: 'function', function: { name: 'get_weather' } }, stream: true, ...sampled(6),
  });
  const calls = [];
  let finish = null;
  for await (const chunk of stream) {
    const ch = chunk.choices[0];
    if (!ch) continue;
    for (const d of ch.delta.tool_calls ?? []) {
      calls[d.index] ??= { name: '', arguments: '' };
      if (d.function?.name) calls[d.index].name += d.function.name;
      if (d.function?.arguments) calls[d.index].arguments += d.function.arguments;
    }
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(calls.length, 1);
  assert.equal(calls[0].name, 'get_weather');
  validArgs('get_weather', JSON.parse(calls[0].arguments));
});

await check('ollama chat tool_calls carry arguments as an object (stream and not)', async () => {
  const req = { model: qwen, messages: user, tools, tool_choice: 'required', think: false, options: { temperature: 1, seed: 7, num_predict: 300 } };
  const r = await ollama.chat(req);
  assert.equal(r.message.role, 'assistant');
  assert.ok(r.message.tool_calls.length >= 1);
  const first = r.message.tool_calls[0].function;
  assert.equal(typeof first.arguments, 'object');
  validArgs(first.name, first.arguments);
  let streamed = [];
  let content = '';
  for await (const part of await ollama.chat({ ...req, stream: true })) {
    streamed = streamed.concat(part.message.tool_calls ?? []);
    content += part.message.content;
  }
  assert.deepEqual(streamed.map((c) => c.function), r.message.tool_calls.map((c) => c.function));
  assert.equal(content, r.message.content);
});

await check('a call written by a grammar is parsed from the text (auto)', async () => {
  const grammar = 'root ::= "Checking.\\n<tool_call>\\n{\\"name\\": \\"get_weather\\", \\"arguments\\": {\\"city\\": \\"Oslo\\", \\"days\\": 2}}\\n</tool_call>"';
  const r = await ollama.chat({ model: qwen, messages: user, tools, think: false, options: { temperature: 1, seed: 1, grammar } });
  assert.equal(r.message.content, 'Checking.\n');
  assert.deepEqual(r.message.tool_calls.map((c) => c.function), [{ index: 0, name: 'get_weather', arguments: { city: 'Oslo', days: 2 } }]);
  const o = await openai.chat.completions.create({ model: qwen, messages: user, tools, grammar, think: false, temperature: 1, seed: 1 });
  assert.equal(o.choices[0].finish_reason, 'tool_calls');
  assert.equal(o.choices[0].message.tool_calls[0].function.arguments, '{"city":"Oslo","days":2}');
  // Without tools the same text stays content.
  const plain = await ollama.chat({ model: qwen, messages: user, think: false, options: { temperature: 1, seed: 1, grammar } });
  assert.equal(plain.message.tool_calls, undefined);
  assert.ok(plain.message.content.includes('<tool_call>'));
});

await check('llama3 syntax (a Go template with tools): named call as bare JSON with parameters', async () => {
  for (const seed of [1, 2]) {
    const r = await openai.chat.completions.create({
      model: llama, messages: user, tools, tool_choice: { type: 'function', function: { name: 'get_weather' } }, temperature: 1, seed, max_tokens: 300,
    });
    const calls = r.choices[0].message.tool_calls;
    assert.equal(calls.length, 1);
    assert.equal(calls[0].function.name, 'get_weather');
    validArgs('get_weather', JSON.parse(calls[0].function.arguments));
  }
});

await check('tool_choice none leaves the tools out of the prompt', async () => {
  const a = await openai.chat.completions.create({ model: qwen, messages: user, tools, tool_choice: 'none', max_tokens: 1, think: false });
  const b = await openai.chat.completions.create({ model: qwen, messages: user, tools, tool_choice: 'auto', max_tokens: 1, think: false });
  const c = await openai.chat.completions.create({ model: qwen, messages: user, max_tokens: 1, think: false });
  assert.equal(a.usage.prompt_tokens, c.usage.prompt_tokens);
  assert.ok(b.usage.prompt_tokens > a.usage.prompt_tokens + 50, `${b.usage.prompt_tokens} vs ${a.usage.prompt_tokens}`);
  assert.equal(a.choices[0].message.tool_calls, undefined);
});

await check('bad tool_choice gives 400', async () => {
  const bad = [
    { tools, tool_choice: { type: 'function', function: { name: 'nope' } } },
    { tool_choice: 'required' },
    { tools, tool_choice: 'sometimes' },
    { tools, tool_choice: 'required', response_format: { type: 'json_object' } },
    { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'number', multipleOf: 2 } } }], tool_choice: 'required' },
  ];
  for (const extra of bad) {
    await assert.rejects(openai.chat.completions.create({ model: qwen, messages: user, max_tokens: 4, ...extra }),
      (e) => e.status === 400 && typeof e.message === 'string', JSON.stringify(extra));
  }
});

const thinkGrammar = 'root ::= "<think>\\nweighing the options\\n</think>\\n\\n" "The answer is " [0-9] [0-9]?';
await check('thinking is split into message.thinking (chat, stream and not)', async () => {
  const req = { model: qwen, messages: user, think: true, options: { temperature: 1, seed: 3, grammar: thinkGrammar } };
  const r = await ollama.chat(req);
  assert.equal(r.message.thinking, 'weighing the options');
  assert.match(r.message.content, /^The answer is \d\d?$/);
  let thinking = '', content = '';
  for await (const part of await ollama.chat({ ...req, stream: true })) {
    thinking += part.message.thinking ?? '';
    content += part.message.content;
  }
  assert.equal(thinking, r.message.thinking);
  assert.equal(content, r.message.content);
});

await check('thinking in /api/generate and as reasoning_content in OpenAI', async () => {
  const g = await ollama.generate({ model: qwen, prompt: 'Think first.', think: true, options: { temperature: 1, seed: 3, grammar: thinkGrammar } });
  assert.equal(g.thinking, 'weighing the options');
  assert.match(g.response, /^The answer is \d\d?$/);
  const o = await openai.chat.completions.create({ model: qwen, messages: user, think: true, grammar: thinkGrammar, temperature: 1, seed: 3 });
  assert.equal(o.choices[0].message.reasoning_content, 'weighing the options');
  assert.match(o.choices[0].message.content, /^The answer is \d\d?$/);
  let reasoning = '';
  const stream = await openai.chat.completions.create({ model: qwen, messages: user, reasoning_effort: 'high', grammar: thinkGrammar, temperature: 1, seed: 3, stream: true });
  for await (const chunk of stream) reasoning += chunk.choices[0]?.delta?.reasoning_content ?? '';
  assert.equal(reasoning, 'weighing the options');
});

await check('think false renders the template\'s no-think block; think on a model without thinking is 400', async () => {
  const off = await ollama.chat({ model: qwen, messages: user, think: false, options: { num_predict: 1 } });
  const dflt = await ollama.chat({ model: qwen, messages: user, options: { num_predict: 1 } });
  // "<think>\n\n</think>\n\n" is in the prompt only with think false.
  assert.ok(off.prompt_eval_count > dflt.prompt_eval_count, `${off.prompt_eval_count} vs ${dflt.prompt_eval_count}`);
  await assert.rejects(ollama.chat({ model: llama, messages: user, think: true }), (e) => /does not support thinking/.test(e.message));
});

await check('format on a thinking template with think false holds from the first token', async () => {
  const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
  const r = await ollama.chat({ model: qwen, messages: user, think: false, format: schema, options: { temperature: 1, seed: 2, num_predict: 100 } });
  assert.deepEqual(Object.keys(JSON.parse(r.message.content)), ['ok']);
});

await check('openai logprobs and top_logprobs (chat and completions)', async () => {
  const r = await openai.chat.completions.create({ model: qwen, messages: user, think: false, max_tokens: 6, logprobs: true, top_logprobs: 3, temperature: 1, seed: 9 });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, r.usage.completion_tokens);
  for (const e of lp) {
    assert.equal(typeof e.token, 'string');
    assert.ok(e.logprob <= 0);
    assert.deepEqual(e.bytes, [...Buffer.from(e.token, 'utf8')]);
    assert.equal(e.top_logprobs.length, 3);
    assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[2].logprob);
    assert.ok(e.logprob <= e.top_logprobs[0].logprob + 1e-4);
  }
  const c = await openai.completions.create({ model: qwen, prompt: 'Once upon a time', max_tokens: 5, logprobs: 2, temperature: 1, seed: 9 });
  const cl = c.choices[0].logprobs;
  assert.equal(cl.tokens.length, cl.token_logprobs.length);
  assert.equal(cl.tokens.join(''), c.choices[0].text);
  assert.equal(cl.text_offset[0], 0);
  for (const t of cl.top_logprobs) assert.ok(Object.keys(t).length >= 1 && Object.keys(t).length <= 2);
  let streamedTokens = 0;
  for await (const chunk of await openai.chat.completions.create({ model: qwen, messages: user, think: false, max_tokens: 4, logprobs: true, stream: true })) {
    streamedTokens += chunk.choices[0]?.logprobs?.content?.length ?? 0;
  }
  assert.equal(streamedTokens, 4);
  await assert.rejects(openai.chat.completions.create({ model: qwen, messages: user, max_tokens: 2, top_logprobs: 30, logprobs: true }), (e) => e.status === 400);
});

console.log(`server_tools: ${checks.passed} checks passed`);
