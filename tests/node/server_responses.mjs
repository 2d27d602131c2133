// The OpenAI Responses API (/v1/responses) through `corral serve` with the official `openai`
// client: plain and streamed replies, a function-call round trip (stateless and with
// previous_response_id), stored responses (retrieve, delete, store: false), a json_schema
// text.format that validates, reasoning items and the error shapes. The model has random
// weights, so calls are forced with tool_choice and reasoning with a GBNF grammar (corral's
// extension, passed through).
// Usage: node server_responses.mjs http://127.0.0.1:PORT QWEN3_MODEL
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Ajv2020 from 'ajv/dist/2020.js';
import { check, checks } from './check.mjs';

const [base, qwen] = process.argv.slice(2);
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
const tools = [{ type: 'function', name: 'get_weather', description: 'Weather forecast', parameters: weatherSchema }];
const validWeather = ajv.compile(weatherSchema);
const question = 'What is the weather in Paris for three days?';
const noThink = { reasoning: { effort: 'none' } };
const greedy = { temperature: 0, seed: 7, ...noThink };

async function events(params) {
  const out = [];
  for await (const ev of await openai.responses.create({ ...params, stream: true })) out.push(ev);
  return out;
}

function checkSequence(evs) {
  assert.equal(evs[0].type, 'response.created');
  assert.equal(evs[1].type, 'response.in_progress');
  assert.ok(['response.completed', 'response.incomplete'].includes(evs.at(-1).type), evs.at(-1).type);
  evs.forEach((e, i) => assert.equal(e.sequence_number, i));
  // every added item is done, in output_index order
  const added = evs.filter((e) => e.type === 'response.output_item.added').map((e) => e.output_index);
  const done = evs.filter((e) => e.type === 'response.output_item.done').map((e) => e.output_index);
  assert.deepEqual(added, [...added.keys()]);
  assert.deepEqual(done, added);
  assert.equal(evs.at(-1).response.output.length, added.length);
}

await check('responses.create: a completed response; same text and tokens as chat completions', async () => {
  const r = await openai.responses.create({ model: qwen, input: question, instructions: 'Be brief.', max_output_tokens: 6, ...greedy });
  assert.equal(r.object, 'response');
  assert.match(r.id, /^resp_/);
  assert.ok(['completed', 'incomplete'].includes(r.status));
  assert.equal(r.status === 'incomplete', r.usage.output_tokens === 6);
  if (r.status === 'incomplete') assert.equal(r.incomplete_details.reason, 'max_output_tokens');
  assert.equal(r.output[0].type, 'message');
  assert.equal(r.output[0].content[0].type, 'output_text');
  assert.equal(r.instructions, 'Be brief.');
  const o = await openai.chat.completions.create({
    model: qwen, max_tokens: 6, think: false, temperature: 0, seed: 7,
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: question }],
  });
  assert.equal(r.output_text, o.choices[0].message.content);
  assert.equal(r.usage.input_tokens, o.usage.prompt_tokens);
  assert.equal(r.usage.output_tokens, o.usage.completion_tokens);
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
});

await check('streaming: the Responses event sequence; text equal to the non-streamed reply', async () => {
  const params = { model: qwen, input: [{ role: 'user', content: [{ type: 'input_text', text: question }] }], max_output_tokens: 8, ...greedy };
  const r = await openai.responses.create(params);
  const evs = await events(params);
  checkSequence(evs);
  const text = evs.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
  assert.equal(text, r.output_text);
  assert.equal(evs.find((e) => e.type === 'response.output_text.done').text, r.output_text);
  assert.equal(evs.at(-1).response.usage.output_tokens, r.usage.output_tokens);
  const final = await openai.responses.stream(params).finalResponse();
  assert.equal(final.output_text, r.output_text);
  assert.equal(final.status, r.status);
});

await check('function call round trip: stateless and with previous_response_id give the same prompt', async () => {
  for (const seed of [1, 2]) {
    const input = [{ role: 'user', content: question }];
    const r = await openai.responses.create({ model: qwen, input, tools, tool_choice: 'required', parallel_tool_calls: false, temperature: 1, seed, ...noThink });
    const calls = r.output.filter((i) => i.type === 'function_call');
    assert.equal(calls.length, 1);
    assert.equal(calls[0].name, 'get_weather');
    assert.match(calls[0].call_id, /^call_/);
    assert.equal(calls[0].status, 'completed');
    assert.ok(validWeather(JSON.parse(calls[0].arguments)), calls[0].arguments);
    const result = { type: 'function_call_output', call_id: calls[0].call_id, output: '{"forecast": "sunny"}' };
    const stateless = await openai.responses.create({ model: qwen, input: [...input, ...r.output, result], tools, max_output_tokens: 4, ...greedy, store: false });
    const chained = await openai.responses.create({ model: qwen, previous_response_id: r.id, input: [result], tools, max_output_tokens: 4, ...greedy });
    assert.equal(chained.previous_response_id, r.id);
    assert.ok(stateless.usage.input_tokens > r.usage.input_tokens + 10);
    assert.equal(chained.usage.input_tokens, stateless.usage.input_tokens);
    assert.equal(chained.output_text, stateless.output_text);
  }
});

await check('streamed function call: arguments deltas build the arguments', async () => {
  const params = { model: qwen, input: question, tools, tool_choice: { type: 'function', name: 'get_weather' }, temperature: 1, seed: 3, ...noThink };
  const evs = await events(params);
  checkSequence(evs);
  const added = evs.find((e) => e.type === 'response.output_item.added' && e.item.type === 'function_call');
  assert.ok(added);
  const args = evs.filter((e) => e.type === 'response.function_call_arguments.delta' && e.item_id === added.item.id).map((e) => e.delta).join('');
  assert.ok(validWeather(JSON.parse(args)), args);
  assert.equal(evs.find((e) => e.type === 'response.function_call_arguments.done').arguments, args);
  const final = await openai.responses.stream(params).finalResponse();
  const call = final.output.find((i) => i.type === 'function_call');
  assert.ok(validWeather(JSON.parse(call.arguments)));
});

await check('previous_response_id continues a text conversation; retrieve and delete', async () => {
  const r1 = await openai.responses.create({ model: qwen, input: 'Hello there.', max_output_tokens: 5, ...greedy });
  const r2 = await openai.responses.create({ model: qwen, previous_response_id: r1.id, input: 'Go on.', max_output_tokens: 5, ...greedy });
  const same = await openai.responses.create({
    model: qwen, store: false, max_output_tokens: 5, ...greedy,
    input: [{ role: 'user', content: 'Hello there.' }, { role: 'assistant', content: r1.output_text }, { role: 'user', content: 'Go on.' }],
  });
  assert.equal(r2.usage.input_tokens, same.usage.input_tokens);
  assert.equal(r2.output_text, same.output_text);
  const got = await openai.responses.retrieve(r1.id);
  assert.equal(got.id, r1.id);
  assert.equal(got.output_text ?? got.output[0].content[0].text, r1.output_text);
  assert.deepEqual(got.usage, r1.usage);
  const del = await openai.responses.delete(r1.id);
  assert.ok(del === undefined || del === null || del.deleted === true, JSON.stringify(del));
  await assert.rejects(openai.responses.retrieve(r1.id), (e) => e.status === 404);
  await assert.rejects(openai.responses.create({ model: qwen, previous_response_id: r1.id, input: 'x', max_output_tokens: 2 }), (e) => e.status === 404);
  await assert.rejects(openai.responses.retrieve(same.id), (e) => e.status === 404);  // store: false
  assert.equal(same.store, false);
});

await check('text.format json_schema: output validates (stream and not)', async () => {
  const schema = { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Oslo'] }, temp: { type: 'integer', minimum: -30, maximum: 40 } }, required: ['city', 'temp'], additionalProperties: false };
  const validate = ajv.compile(schema);
  for (const seed of [1, 2, 3]) {
    const params = { model: qwen, input: question, text: { format: { type: 'json_schema', name: 'forecast', schema, strict: true } }, max_output_tokens: 100, temperature: 1, seed, ...noThink };
    const r = await openai.responses.create(params);
    assert.equal(r.text.format.type, 'json_schema');
    const v = JSON.parse(r.output_text);
    assert.ok(validate(v), `${r.output_text}: ${ajv.errorsText(validate.errors)}`);
    const evs = await events(params);
    assert.equal(evs.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join(''), r.output_text);
  }
});

const thinkGrammar = 'root ::= "<think>\\nweighing the options\\n</think>\\n\\n" "The answer is " [0-9] [0-9]?';
await check('reasoning.effort: a reasoning item, streamed as reasoning_text deltas', async () => {
  const params = { model: qwen, input: question, reasoning: { effort: 'high' }, grammar: thinkGrammar, temperature: 1, seed: 3 };
  const r = await openai.responses.create(params);
  assert.equal(r.output[0].type, 'reasoning');
  assert.equal(r.output[0].content[0].text, 'weighing the options');
  assert.match(r.output_text, /^The answer is \d\d?$/);
  const evs = await events(params);
  checkSequence(evs);
  assert.equal(evs.filter((e) => e.type === 'response.reasoning_text.delta').map((e) => e.delta).join(''), 'weighing the options');
  assert.equal(evs.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join(''), r.output_text);
});

function openaiError(status, type) {
  return (e) => {
    assert.equal(e.status, status, `status ${e.status}: ${e.message}`);
    assert.equal(e.error?.type, type, JSON.stringify(e.error));
    assert.equal(typeof e.error.message, 'string');
    return true;
  };
}

await check('errors: unknown model 404, unknown call_id 400, unknown previous_response_id 404, bad JSON 400', async () => {
  await assert.rejects(openai.responses.create({ model: 'no-such-model', input: 'x' }), openaiError(404, 'not_found_error'));
  await assert.rejects(openai.responses.create({ model: qwen, input: [{ type: 'function_call_output', call_id: 'call_nope', output: 'x' }] }),
    (e) => openaiError(400, 'invalid_request_error')(e) && /call_nope/.test(e.error.message));
  await assert.rejects(openai.responses.create({ model: qwen, previous_response_id: 'resp_nope', input: 'x' }), openaiError(404, 'not_found_error'));
  await assert.rejects(openai.responses.create({ model: qwen, input: 'x', tools: [{ type: 'web_search' }] }), openaiError(400, 'invalid_request_error'));
  const res = await fetch(`${base}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": ' });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error.type, 'invalid_request_error');
});

console.log(`${checks.passed} responses checks passed`);
