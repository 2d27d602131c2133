// The npm ollama and openai clients against an embedding model (server_embeddings.sh): sizes,
// norms and values against the reference engine's vectors, dimensions and base64.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Ollama } from 'ollama';
import OpenAI from 'openai';

const [base, model, refPath] = process.argv.slice(2);
const ref = JSON.parse(fs.readFileSync(refPath, 'utf8')).cases;
const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const cos = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0) / (norm(a) * norm(b));

const ollama = new Ollama({ host: base });
const r = await ollama.embed({ model, input: ref.map((c) => c.text) });
assert.equal(r.embeddings.length, ref.length);
r.embeddings.forEach((v, i) => {
  assert.equal(v.length, 64);
  assert.ok(Math.abs(norm(v) - 1) < 1e-5);
  assert.ok(cos(v, ref[i].embedding) >= 0.99999, `case ${i}: ${cos(v, ref[i].embedding)}`);
});
const d = await ollama.embed({ model, input: ref[2].text, dimensions: 8 });
assert.equal(d.embeddings[0].length, 8);
assert.ok(Math.abs(norm(d.embeddings[0]) - 1) < 1e-5);
await assert.rejects(ollama.chat({ model, messages: [{ role: 'user', content: 'hi' }] }), /does not support chat/);

const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' });
// The openai client asks for base64 by default and decodes it to floats.
const o = await openai.embeddings.create({ model, input: [ref[0].text, ref[5].text] });
assert.equal(o.data.length, 2);
assert.equal(o.data[1].embedding.length, 64);
assert.ok(cos(o.data[1].embedding, ref[5].embedding) >= 0.99999);
assert.equal(o.usage.prompt_tokens, ref[0].ids.length + ref[5].ids.length);
const f = await openai.embeddings.create({ model, input: ref[0].text, encoding_format: 'float', dimensions: 16 });
assert.equal(f.data[0].embedding.length, 16);
assert.ok(Math.abs(norm(f.data[0].embedding) - 1) < 1e-5);
console.log('node embedding clients: ok');
