// The OpenAI Batch API round trip with the official `openai` client against corral: upload a
// JSONL file, create a batch, poll it to completion, read the output file, list and cancel.
// Usage: node jobs_batch.mjs http://127.0.0.1:PORT MODEL TMPDIR
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";

const [base, model, tmp] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0 });
function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
}

const lines = ["Once upon a time", "The cat", "A little dog"].map((text, i) =>
  JSON.stringify({
    custom_id: `req-${i}`,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model, messages: [{ role: "user", content: text }], max_tokens: 6, temperature: 0 },
  }),
);
const input = path.join(tmp, "batch_input.jsonl");
fs.writeFileSync(input, lines.join("\n") + "\n");

const file = await client.files.create({ file: fs.createReadStream(input), purpose: "batch" });
check(file.id && file.object === "file" && file.purpose === "batch", `file object ${JSON.stringify(file)}`);
check(file.bytes === fs.statSync(input).size, `file bytes ${file.bytes}`);
const back = await client.files.retrieve(file.id);
check(back.id === file.id, "files.retrieve");

const batch = await client.batches.create({
  input_file_id: file.id,
  endpoint: "/v1/chat/completions",
  completion_window: "24h",
  metadata: { purpose: "test" },
});
check(batch.object === "batch" && batch.request_counts.total === 3, `batch ${JSON.stringify(batch)}`);

let done = batch;
for (let i = 0; i < 600 && !["completed", "failed", "cancelled", "expired"].includes(done.status); i++) {
  await new Promise((r) => setTimeout(r, 100));
  done = await client.batches.retrieve(batch.id);
}
check(done.status === "completed", `batch status ${done.status}`);
check(done.request_counts.completed === 3 && done.request_counts.failed === 0, `counts ${JSON.stringify(done.request_counts)}`);
check(done.output_file_id, "no output_file_id");
check(done.metadata && done.metadata.purpose === "test", "metadata kept");

const content = await (await client.files.content(done.output_file_id)).text();
const out = content.trim().split("\n").map((l) => JSON.parse(l));
check(out.length === 3, `output has ${out.length} lines`);
check(JSON.stringify(out.map((o) => o.custom_id).sort()) === JSON.stringify(["req-0", "req-1", "req-2"]), "custom ids");
for (const o of out) {
  check(o.error === null && o.response.status_code === 200, `line ${JSON.stringify(o)}`);
  const msg = o.response.body.choices[0].message;
  check(msg.role === "assistant" && typeof msg.content === "string" && msg.content.length > 0, `message ${JSON.stringify(msg)}`);
  check(o.response.body.object === "chat.completion", "chat.completion body");
}

const listed = await client.batches.list();
check(listed.data.some((b) => b.id === batch.id), "batches.list has the batch");

// A bad input file: 400, and no batch is created.
const bad = path.join(tmp, "batch_bad.jsonl");
fs.writeFileSync(bad, lines[0] + "\n" + '{"custom_id":"x","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}\n');
const badFile = await client.files.create({ file: fs.createReadStream(bad), purpose: "batch" });
let status = 0;
try {
  await client.batches.create({ input_file_id: badFile.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
} catch (e) {
  status = e.status;
  check(/line 2/.test(e.message), `error names the line: ${e.message}`);
}
check(status === 400, `bad batch status ${status}`);
check((await client.batches.list()).data.length === listed.data.length, "no batch from a bad file");

// Cancel: a batch of long requests is cancelled before it completes.
const slow = path.join(tmp, "batch_slow.jsonl");
fs.writeFileSync(slow, Array.from({ length: 20 }, (_, i) => JSON.stringify({
  custom_id: `slow-${i}`, method: "POST", url: "/v1/chat/completions",
  body: { model, messages: [{ role: "user", content: "Tell a story" }], max_tokens: 200 },
})).join("\n"));
const slowFile = await client.files.create({ file: fs.createReadStream(slow), purpose: "batch" });
const slowBatch = await client.batches.create({ input_file_id: slowFile.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
const cancelling = await client.batches.cancel(slowBatch.id);
check(["cancelling", "cancelled"].includes(cancelling.status), `cancel status ${cancelling.status}`);
let c = cancelling;
for (let i = 0; i < 300 && c.status !== "cancelled"; i++) {
  await new Promise((r) => setTimeout(r, 100));
  c = await client.batches.retrieve(slowBatch.id);
}
check(c.status === "cancelled", `after cancel: ${c.status}`);
check(c.request_counts.completed < 20, `cancelled batch completed ${c.request_counts.completed}`);
console.log(`jobs_batch: ok (${batch.id}, cancelled ${slowBatch.id})`);
