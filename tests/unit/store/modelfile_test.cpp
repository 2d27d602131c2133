// Modelfile parsing (line-numbered errors) and `create` into the store.
#include "store/modelfile.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "gguf/gguf_writer.h"
#include "store/model_info.h"
#include "store_test_util.h"

namespace corral {
namespace {
namespace fs = std::filesystem;

std::string write_tiny_gguf(const std::string& path) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("general.file_type", 1);
  w.set_u32("llama.context_length", 2048);
  w.set_u32("llama.embedding_length", 8);
  std::vector<uint8_t> data(8 * 4 * 2, 0);
  EXPECT_TRUE(w.add_tensor("token_embd.weight", GgmlType::kF16, {8, 4}, data).ok());
  EXPECT_TRUE(w.write(path).ok());
  return path;
}

std::map<std::string, uintmax_t> snapshot(const std::string& root) {
  std::map<std::string, uintmax_t> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && e.path().filename() != ".corral.lock") {
      out[fs::relative(e.path(), root).string()] = e.file_size();
    }
  }
  return out;
}

TEST(Modelfile, ParsesAllDirectives) {
  const char* text = R"(# a comment
FROM ./model.gguf
parameter temperature 0.7
PARAMETER stop "<|end|>"
PARAMETER stop <|eot|>
PARAMETER num_ctx 4096
PARAMETER use_mmap false
TEMPLATE """{{ if .System }}{{ .System }}
{{ end }}{{ .Prompt }}"""
SYSTEM You are terse.
LICENSE """MIT
text"""
MESSAGE user Hi
MESSAGE assistant """Hello
there"""
PARAMETER mirostat 1
)";
  auto mf = Modelfile::parse(text);
  ASSERT_TRUE(mf.ok()) << mf.error().message;
  EXPECT_EQ(mf->from, "./model.gguf");
  EXPECT_EQ(mf->from_line, 2);
  EXPECT_EQ(mf->params_json,
            R"({"num_ctx":4096,"stop":["<|end|>","<|eot|>"],"temperature":0.7,"use_mmap":false})");
  EXPECT_EQ(mf->template_text, "{{ if .System }}{{ .System }}\n{{ end }}{{ .Prompt }}");
  EXPECT_EQ(mf->system, "You are terse.");
  ASSERT_EQ(mf->licenses.size(), 1u);
  EXPECT_EQ(mf->licenses[0], "MIT\ntext");
  ASSERT_EQ(mf->messages.size(), 2u);
  EXPECT_EQ(mf->messages[1].content, "Hello\nthere");
  ASSERT_EQ(mf->warnings.size(), 1u);
  EXPECT_NE(mf->warnings[0].find("line 16"), std::string::npos) << mf->warnings[0];
}

TEST(Modelfile, RejectsBadInputWithLineNumbers) {
  const std::pair<const char*, const char*> cases[] = {
      {"FROM x\nFOO bar\n", "line 2: unknown instruction"},
      {"FROM x\n\nPARAMETER nope 1\n", "line 3: unknown parameter \"nope\""},
      {"FROM x\nPARAMETER num_ctx lots\n", "line 2: invalid value \"lots\""},
      {"FROM x\nPARAMETER temperature 0.5x\n", "line 2: invalid value"},
      {"FROM x\nPARAMETER use_mmap maybe\n", "line 2: invalid value"},
      {"FROM x\nPARAMETER top_k\n", "line 2: parameter \"top_k\" needs a value"},
      {"FROM x\nMESSAGE robot hi\n", "line 2: MESSAGE role"},
      {"FROM x\nSYSTEM \"\"\"never closed\n", "line 2: unterminated"},
      {"FROM x\nSYSTEM \"open\n", "line 2: unterminated quoted"},
      {"PARAMETER top_k 1\n", "no FROM"},
      {"FROM a\nFROM b\n", "line 2: a second FROM"},
      {"FROM x\nTEMPLATE \"\"\"a\nb\"\"\"\nBAD\n", "line 4: unknown instruction"},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    auto mf = Modelfile::parse(text);
    ASSERT_FALSE(mf.ok());
    EXPECT_NE(mf.error().message.find(want), std::string::npos) << mf.error().message;
  }
}

TEST(Create, FromGgufPathStoresItOnceAndInherits) {
  test::TempDir d;
  auto s = Store::open(d.path() + "/store");
  ASSERT_TRUE(s.ok());
  const std::string gguf = write_tiny_gguf(d.path() + "/tiny.gguf");
  auto mf = Modelfile::parse("FROM ./tiny.gguf\nTEMPLATE {{ .Prompt }}\nPARAMETER top_k 7\n");
  ASSERT_TRUE(mf.ok());
  Status st = create_model(*s, *ModelName::parse("tiny"), *mf, d.path(), nullptr);
  ASSERT_TRUE(st.ok()) << st.error().message;
  struct stat sb {};
  ASSERT_EQ(::stat(gguf.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_nlink, 2u);  // hard-linked into blobs/, not copied
  auto r = s->resolve_model("tiny");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->template_text, "{{ .Prompt }}");
  EXPECT_EQ(r->params_json, R"({"top_k":7})");
  auto cfg = s->read_blob_text(r->manifest.config.digest);
  ASSERT_TRUE(cfg.ok());
  EXPECT_NE(cfg->find(R"("model_family":"llama")"), std::string::npos) << *cfg;
  EXPECT_NE(cfg->find(R"("file_type":"F16")"), std::string::npos) << *cfg;

  // FROM a store name: inherits the weights and template, overrides params, adds a system.
  auto mf2 = Modelfile::parse("FROM tiny\nSYSTEM be brief\nPARAMETER temperature 0\n");
  ASSERT_TRUE(mf2.ok());
  ASSERT_TRUE(create_model(*s, *ModelName::parse("tiny2"), *mf2, d.path(), nullptr).ok());
  auto r2 = s->resolve_model("tiny2");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->model_path, r->model_path);
  EXPECT_EQ(r2->template_text, "{{ .Prompt }}");
  EXPECT_EQ(r2->system, "be brief");
  EXPECT_EQ(r2->params_json, R"({"temperature":0.0,"top_k":7})");
  ASSERT_EQ(::stat(gguf.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_nlink, 2u);

  // FROM a blob digest.
  const std::string digest = r->manifest.find_layer(kMediaModel)->digest;
  auto mf3 = Modelfile::parse("FROM " + digest + "\n");
  ASSERT_TRUE(mf3.ok());
  ASSERT_TRUE(create_model(*s, *ModelName::parse("tiny3"), *mf3, d.path(), nullptr).ok());
  EXPECT_EQ(s->resolve_model("tiny3")->model_path, r->model_path);
}

TEST(Create, FailuresLeaveStoreUnchanged) {
  test::TempDir d;
  auto s = Store::open(d.path() + "/store");
  ASSERT_TRUE(s.ok());
  write_tiny_gguf(d.path() + "/tiny.gguf");
  ASSERT_TRUE(create_model(*s, *ModelName::parse("base"), *Modelfile::parse("FROM ./tiny.gguf\n"),
                           d.path(), nullptr).ok());
  const auto before = snapshot(s->root());
  std::ofstream(d.path() + "/notgguf.gguf") << "this is not a gguf file";
  const std::pair<std::string, std::string> cases[] = {
      {"FROM ./missing.gguf\n", "no such file"},
      {"FROM nosuchmodel\n", "not found"},
      {"FROM ./notgguf.gguf\n", "line 1: FROM ./notgguf.gguf"},
      {"FROM sha256:" + std::string(64, 'e') + "\n", "not in the store"},
      {"FROM base\nADAPTER ./missing-adapter.gguf\n", "line 2: ADAPTER"},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    auto mf = Modelfile::parse(text);
    ASSERT_TRUE(mf.ok());
    Status st = create_model(*s, *ModelName::parse("new"), *mf, d.path(), nullptr);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find(want), std::string::npos) << st.error().message;
    EXPECT_EQ(snapshot(s->root()), before);
  }
}

TEST(ModelInfo, SummaryAndFormats) {
  test::TempDir d;
  auto info = summarize_gguf(write_tiny_gguf(d.path() + "/t.gguf"));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->architecture, "llama");
  EXPECT_EQ(info->n_params, 32);
  EXPECT_EQ(info->quantization, "F16");
  EXPECT_EQ(info->context_length, 2048);
  EXPECT_EQ(info->embedding_length, 8);
  // Without general.file_type the dominant tensor type is named, upper-case like Ollama.
  GgufWriter w;
  w.set_string("general.architecture", "qwen3");
  ASSERT_TRUE(w.add_tensor("a", GgmlType::kF32, {4}, std::vector<uint8_t>(16, 0)).ok());
  ASSERT_TRUE(w.write(d.path() + "/noft.gguf").ok());
  auto noft = summarize_gguf(d.path() + "/noft.gguf");
  ASSERT_TRUE(noft.ok());
  EXPECT_EQ(noft->quantization, "F32");
  EXPECT_EQ(noft->context_length, 0);
  EXPECT_EQ(human_number(8'030'261'248), "8.0B");
  EXPECT_EQ(human_number(260'000), "260K");
  EXPECT_EQ(human_number(1'500'000), "1.5M");
  EXPECT_EQ(human_bytes(2'019'393'189), "2.0 GB");
  EXPECT_EQ(human_bytes(4'661'224'676), "4.7 GB");
  EXPECT_EQ(human_bytes(27'000'000), "27 MB");
  EXPECT_EQ(human_bytes(999), "999 B");
  EXPECT_EQ(file_type_name(15), "Q4_K_M");
}

TEST(Modelfile, GeneratedModelfileParsesBack) {
  ResolvedModel m;
  m.name = *ModelName::parse("x");
  m.model_path = "/store/blobs/sha256-abc";
  m.has_template = true;
  m.template_text = "{{ .Prompt }}";
  m.params_json = R"({"stop":["a","b"],"top_k":3})";
  m.messages_json = R"([{"role":"user","content":"hi"}])";
  auto mf = Modelfile::parse(modelfile_text(m));
  ASSERT_TRUE(mf.ok()) << mf.error().message;
  EXPECT_EQ(mf->from, "/store/blobs/sha256-abc");
  EXPECT_EQ(mf->params_json, R"({"stop":["a","b"],"top_k":3})");
  EXPECT_EQ(parameters_text(m.params_json),
            "stop                           \"a\"\nstop                           \"b\"\ntop_k                          3\n");
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

TEST(Modelfile, FallbackLinesGoToParamsInOrder) {
  auto mf = Modelfile::parse(
      "FROM ./m.gguf\nFALLBACK backup\nPARAMETER temperature 0\nfallback \"other:7b\"\nPARAMETER fallback third\n");
  ASSERT_TRUE(mf.ok()) << mf.error().message;
  EXPECT_TRUE(mf->has_params);
  auto params = nlohmann::json::parse(mf->params_json);
  ASSERT_TRUE(params.contains("fallback"));
  EXPECT_EQ(params["fallback"], nlohmann::json::array({"backup", "other:7b", "third"}))
      << "PARAMETER fallback (as the server's show prints it) is FALLBACK too";
  EXPECT_EQ(params["temperature"], 0);
}

TEST(Modelfile, FallbackNeedsOneName) {
  auto empty = Modelfile::parse("FROM ./m.gguf\nFALLBACK\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("line 2: FALLBACK needs a model name"), std::string::npos)
      << empty.error().message;
  auto two = Modelfile::parse("FROM ./m.gguf\n\nFALLBACK a b\n");
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("line 3: FALLBACK takes one model name"), std::string::npos)
      << two.error().message;
  std::string many = "FROM ./m.gguf\n";
  for (int i = 0; i < 17; ++i) many += "FALLBACK m" + std::to_string(i) + "\n";
  auto too_many = Modelfile::parse(many);
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.error().message.find("at most 16"), std::string::npos) << too_many.error().message;
}

TEST(Modelfile, ShowPrintsFallbackLinesThatParseBack) {
  ResolvedModel m;
  m.name = *ModelName::parse("primary");
  m.model_path = "/blobs/sha256-abc";
  m.params_json = R"({"fallback":["backup","third:latest"],"temperature":0.5})";
  const std::string text = modelfile_text(m);
  EXPECT_NE(text.find("FALLBACK backup\nFALLBACK third:latest\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("PARAMETER fallback"), std::string::npos) << text;
  auto back = Modelfile::parse(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(nlohmann::json::parse(back->params_json)["fallback"],
            nlohmann::json::array({"backup", "third:latest"}));
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

TEST(Modelfile, InvalidUtf8InJsonValuesIsAnErrorNotACrash) {
  // Found by fuzz_store_modelfile: a stop string with a stray 0xFF byte made the JSON dump throw.
  auto stop = Modelfile::parse("FROM ./m.gguf\nPARAMETER stop \"<\xff>\"\n");
  ASSERT_FALSE(stop.ok());
  EXPECT_NE(stop.error().message.find("line 2: parameter \"stop\": the value is not valid UTF-8"), std::string::npos)
      << stop.error().message;
  EXPECT_FALSE(Modelfile::parse("FROM ./m.gguf\nFALLBACK b\xc3\n").ok());
  EXPECT_FALSE(Modelfile::parse("FROM ./m.gguf\nPARAMETER stop \"\xed\xa0\x80\"\n").ok()) << "a surrogate";
  EXPECT_FALSE(Modelfile::parse("FROM ./m.gguf\nPARAMETER stop \"\xc0\xaf\"\n").ok()) << "an overlong";
  auto ok = Modelfile::parse("FROM ./m.gguf\nPARAMETER stop \"<|fin|> \xe2\x9c\x93 \xf0\x9f\x98\x80\"\nFALLBACK caf\xc3\xa9\n");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
}

}  // namespace
}  // namespace corral
