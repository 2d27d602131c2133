// Real clients against `corral serve`: the official `ollama` and `openai` npm packages.
// Usage: node server_clients.mjs http://127.0.0.1:PORT MODEL
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import OpenAI from 'openai';

const [base, model] = process.argv.slice(2);
const ollama = new Ollama({ host: base });
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' });
let passed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    console.error(`FAIL ${name}: ${e.stack || e}`);
    process.exitCode = 1;
  }
}
const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const greedy = { temperature: 0, num_predict: 24 };

await check('generate (non-streaming)', async () => {
  const r = await ollama.generate({ model, prompt: 'Once upon a time', stream: false, options: greedy });
  assert.equal(typeof r.response, 'string');
  assert.ok(r.response.length > 0);
  assert.equal(r.done, true);
  assert.ok(['stop', 'length'].includes(r.done_reason));
  assert.ok(r.eval_count > 0 && r.eval_count <= 24);
  assert.ok(r.prompt_eval_count > 0 && r.total_duration > 0 && r.eval_duration > 0);
  assert.ok(Array.isArray(r.context) && r.context.length > 0);
  assert.match(String(r.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
});

await check('generate is deterministic at temperature 0 and streaming equals non-streaming', async () => {
  const a = await ollama.generate({ model, prompt: 'The cat', stream: false, options: greedy });
  const b = await ollama.generate({ model, prompt: 'The cat', stream: false, options: greedy });
  assert.equal(a.response, b.response);
  let text = '', last = null, n = 0;
  for await (const part of await ollama.generate({ model, prompt: 'The cat', stream: true, options: greedy })) {
    text += part.response;
    last = part;
    n++;
  }
  assert.equal(text, a.response);
  assert.ok(n > 2, 'several chunks');
  assert.equal(last.done, true);
  assert.ok(last.eval_count > 0);
});

await check('generate with seed is reproducible', async () => {
  const o = { temperature: 1.0, seed: 1234, num_predict: 16 };
  const a = await ollama.generate({ model, prompt: 'A dog', options: o });
  const b = await ollama.generate({ model, prompt: 'A dog', options: o });
  assert.equal(a.response, b.response);
});

await check('generate num_predict gives done_reason length', async () => {
  const r = await ollama.generate({ model, prompt: 'Once', options: { temperature: 0, num_predict: 3 } });
  assert.equal(r.eval_count, 3);
  assert.equal(r.done_reason, 'length');
});

await check('chat (non-streaming and streaming)', async () => {
  const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Tell me a story' }];
  const r = await ollama.chat({ model, messages, options: greedy });
  assert.equal(r.message.role, 'assistant');
  assert.ok(r.message.content.length > 0);
  assert.equal(r.done, true);
  let text = '';
  let last;
  for await (const part of await ollama.chat({ model, messages, stream: true, options: greedy })) {
    text += part.message.content;
    last = part;
  }
  assert.equal(text, r.message.content);
  assert.equal(last.done, true);
});

await check('list / show / ps', async () => {
  const list = await ollama.list();
  assert.ok(list.models.some((m) => m.name === `${model}:latest` || m.name === model), JSON.stringify(list));
  const m = list.models[0];
  assert.equal(m.details.format, 'gguf');
  assert.match(m.digest, /^[0-9a-f]{64}$/);
  const show = await ollama.show({ model });
  assert.equal(show.model_info['general.architecture'], 'llama');
  assert.ok(show.capabilities.includes('completion'));
  const ps = await ollama.ps();
  assert.ok(ps.models.some((x) => x.name.startsWith(model)), JSON.stringify(ps));
});

await check('embed and legacy embeddings are L2-normalised', async () => {
  const r = await ollama.embed({ model, input: ['hello world', 'a story about a cat'] });
  assert.equal(r.embeddings.length, 2);
  for (const v of r.embeddings) assert.ok(Math.abs(norm(v) - 1) < 1e-4, `norm ${norm(v)}`);
  assert.notDeepEqual(r.embeddings[0], r.embeddings[1]);
  const again = await ollama.embed({ model, input: 'hello world' });
  assert.deepEqual(again.embeddings[0], r.embeddings[0]);
  const d = await ollama.embed({ model, input: 'hello world', dimensions: 8 });
  assert.equal(d.embeddings[0].length, 8);
  assert.ok(Math.abs(norm(d.embeddings[0]) - 1) < 1e-4);
  const legacy = await ollama.embeddings({ model, prompt: 'hello world' });
  assert.equal(legacy.embedding.length, r.embeddings[0].length);
});

await check('unknown model is 404 with the pull hint', async () => {
  await assert.rejects(ollama.generate({ model: 'no-such-model', prompt: 'x' }), (e) => {
    assert.equal(e.status_code, 404);
    assert.equal(e.error, 'model "no-such-model" not found, try pulling it first');
    return true;
  });
});

await check('wrong option type is 400', async () => {
  await assert.rejects(ollama.generate({ model, prompt: 'x', options: { temperature: 'hot' } }), (e) => {
    assert.equal(e.status_code, 400);
    assert.match(e.error, /temperature/);
    return true;
  });
});

await check('copy and delete', async () => {
  await ollama.copy({ source: model, destination: `${model}-copy` });
  let list = await ollama.list();
  assert.ok(list.models.some((m) => m.name === `${model}-copy:latest`));
  await ollama.delete({ model: `${model}-copy` });
  list = await ollama.list();
  assert.ok(!list.models.some((m) => m.name === `${model}-copy:latest`));
  await assert.rejects(ollama.delete({ model: `${model}-copy` }), (e) => e.status_code === 404);
});

await check('client abort cancels the generation and frees the slot', async () => {
  const stream = await ollama.generate({ model, prompt: 'Once upon a time', stream: true,
                                         options: { temperature: 1, num_predict: 100000, num_ctx: 400 } });
  let n = 0;
  for await (const part of stream) {
    if (++n === 3) { stream.abort(); break; }
    assert.equal(part.done, false);
  }
  // The slot frees within one decode step: the active-request gauge drops back to 0.
  let active = -1;
  for (let i = 0; i < 50 && active !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const text = await (await fetch(`${base}/metrics`)).text();
    active = text.split('\n').filter((l) => l.startsWith('corral_model_active_requests'))
      .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  }
  assert.equal(active, 0);
});

await check('openai chat.completions (non-streaming, streaming with usage)', async () => {
  const r = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }],
                                                   max_tokens: 12, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices.length, 1);
  assert.ok(r.choices[0].message.content.length > 0);
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 12);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  let text = '', usage = null, finish = null;
  const s = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }],
    max_completion_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true } });
  for await (const c of s) {
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) {
      text += ch.delta.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.equal(text, r.choices[0].message.content);
  assert.ok(finish);
  assert.equal(usage.completion_tokens, r.usage.completion_tokens);
});

await check('openai completions, embeddings, models', async () => {
  const c = await openai.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
  assert.equal(c.object, 'text_completion');
  assert.ok(c.choices[0].text.length > 0);
  const e = await openai.embeddings.create({ model, input: ['a', 'b'] });
  assert.equal(e.data.length, 2);
  assert.ok(Math.abs(norm(e.data[0].embedding) - 1) < 1e-4);
  const models = await openai.models.list();
  assert.ok(models.data.some((m) => m.id.startsWith(model)));
  const one = await openai.models.retrieve(model);
  assert.equal(one.object, 'model');
});

await check('openai errors: n>1 is 400, unknown model is 404', async () => {
  await assert.rejects(openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], n: 2 }),
    (e) => e.status === 400 && /n must be 1/.test(e.message));
  await assert.rejects(openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e.status === 404 && e.error?.type === 'not_found_error');
});

await check('64 concurrent streaming clients all complete', async () => {
  const one = async (i) => {
    let last = null, text = '';
    for await (const p of await new Ollama({ host: base }).generate({ model, prompt: `Story ${i}:`, stream: true,
                                                                      options: { temperature: 0.8, seed: i, num_predict: 24 } })) {
      text += p.response;
      last = p;
    }
    assert.equal(last.done, true);
    return last.eval_count;
  };
  const t0 = Date.now();
  const counts = await Promise.all(Array.from({ length: 64 }, (_, i) => one(i)));
  assert.equal(counts.length, 64);
  assert.ok(counts.every((n) => n > 0));
  console.log(`     64 streams, ${counts.reduce((a, b) => a + b, 0)} tokens in ${Date.now() - t0} ms`);
  assert.equal(await (await fetch(base)).text(), 'Ollama is running');
});

console.log(`${passed} checks passed`);
