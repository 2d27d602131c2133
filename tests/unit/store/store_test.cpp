// Store layout, atomic commits, case-insensitive lookup, GC and model resolution.
#include "store/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/file_util.h"
#include "base/sha256.h"
#include "store_test_util.h"

namespace corral {
namespace {
namespace fs = std::filesystem;

using test::TempDir;

std::string dg(std::string_view bytes) { return "sha256:" + sha256_hex(bytes); }

// Builds a store with one model the way corral's API writes it.
Manifest add_model(Store& s, const std::string& name, const std::string& weights,
                   const std::string& tmpl) {
  auto w = s.import_blob_bytes(weights);
  auto t = s.import_blob_bytes(tmpl);
  const std::string cfg = R"({"model_format":"gguf"})";
  auto c = s.import_blob_bytes(cfg);
  EXPECT_TRUE(w.ok() && t.ok() && c.ok());
  Manifest m;
  m.config = {std::string(kConfigMediaType), *c, static_cast<int64_t>(cfg.size()), "", ""};
  m.layers.push_back({std::string(kMediaModel), *w, static_cast<int64_t>(weights.size()), "", ""});
  m.layers.push_back({std::string(kMediaTemplate), *t, static_cast<int64_t>(tmpl.size()), "", ""});
  auto st = s.write_manifest(*ModelName::parse(name), m);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  return m;
}

TEST(Store, WritesOllamaLayoutExactly) {
  TempDir d;
  auto s = Store::open(d.path() + "/models");
  ASSERT_TRUE(s.ok());
  const std::string weights = "GGUF fake weights", tmpl = "{{ .Prompt }}";
  add_model(*s, "tiny:1b", weights, tmpl);
  const std::string root = d.path() + "/models";
  // Exact paths: blobs/sha256-<hex> with the content's hash, manifest under host/ns/model/tag.
  for (const auto& content : {weights, tmpl, std::string(R"({"model_format":"gguf"})")}) {
    const std::string p = root + "/blobs/sha256-" + sha256_hex(content);
    ASSERT_TRUE(fs::is_regular_file(p)) << p;
    EXPECT_EQ(*read_file(p), content);
  }
  const std::string mpath = root + "/manifests/registry.ollama.ai/library/tiny/1b";
  ASSERT_TRUE(fs::is_regular_file(mpath));
  const std::string expect =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
      R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
      dg(R"({"model_format":"gguf"})") + R"(","size":23},"layers":[)"
      R"({"mediaType":"application/vnd.ollama.image.model","digest":")" + dg(weights) +
      R"(","size":17},{"mediaType":"application/vnd.ollama.image.template","digest":")" +
      dg(tmpl) + R"(","size":13}]})";
  EXPECT_EQ(*read_file(mpath), expect);
  // Nothing else: no temp files left behind.
  int n_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && e.path().filename() != ".corral.lock") ++n_files;
  }
  EXPECT_EQ(n_files, 4);
}

TEST(Store, ReadsStoreLaidOutByOllama) {
  // Built by hand from Ollama's layout rules, without corral's writer.
  TempDir d;
  const std::string root = d.path();
  fs::create_directories(root + "/blobs");
  fs::create_directories(root + "/manifests/registry.ollama.ai/library/llama3.2");
  fs::create_directories(root + "/manifests/hf.co/Bartowski/Qwen-GGUF");
  auto put = [&](const std::string& content) {
    std::ofstream(root + "/blobs/sha256-" + sha256_hex(content)) << content;
    return std::make_pair(dg(content), content.size());
  };
  auto weights = put("weights");
  auto tmpl = put("{{ .System }} {{ .Prompt }}");
  auto sys = put("You are terse.");
  auto params = put(R"({"stop":["<|eot|>"],"temperature":0.5})");
  auto lic = put("MIT");
  auto msgs = put(R"([{"role":"user","content":"hi"}])");
  auto cfg = put(R"({"model_format":"gguf","model_family":"llama"})");
  auto layer = [](const char* mt, const std::pair<std::string, size_t>& b) {
    return std::string(R"({"mediaType":")") + mt + R"(","digest":")" + b.first +
           R"(","size":)" + std::to_string(b.second) + "}";
  };
  // Pretty-printed with a different key order, as Go's encoder or a registry might emit.
  const std::string manifest = "{\n  \"layers\": [" +
      layer("application/vnd.ollama.image.model", weights) + "," +
      layer("application/vnd.ollama.image.template", tmpl) + "," +
      layer("application/vnd.ollama.image.system", sys) + "," +
      layer("application/vnd.ollama.image.params", params) + "," +
      layer("application/vnd.ollama.image.license", lic) + "," +
      layer("application/vnd.ollama.image.messages", msgs) + "],\n" +
      "  \"config\": " + layer("application/vnd.docker.container.image.v1+json", cfg) + ",\n" +
      "  \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n" +
      "  \"schemaVersion\": 2\n}\n";
  std::ofstream(root + "/manifests/registry.ollama.ai/library/llama3.2/latest") << manifest;
  std::ofstream(root + "/manifests/hf.co/Bartowski/Qwen-GGUF/Q4_K_M") << manifest;

  auto s = Store::open(root);
  ASSERT_TRUE(s.ok());
  auto r = s->resolve_model("llama3.2");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->model_path, root + "/blobs/sha256-" + sha256_hex("weights"));
  EXPECT_EQ(r->template_text, "{{ .System }} {{ .Prompt }}");
  EXPECT_EQ(r->system, "You are terse.");
  EXPECT_EQ(r->params_json, R"({"stop":["<|eot|>"],"temperature":0.5})");
  ASSERT_EQ(r->licenses.size(), 1u);
  EXPECT_EQ(r->licenses[0], "MIT");
  EXPECT_EQ(r->messages_json, R"([{"content":"hi","role":"user"}])");
  EXPECT_EQ(r->manifest_digest, dg(manifest));
  // Case-insensitive lookup of an hf.co name.
  auto h = s->resolve_model("HF.CO/bartowski/qwen-gguf:q4_k_m");
  ASSERT_TRUE(h.ok()) << h.error().message;
  auto list = s->list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].size_bytes, static_cast<int64_t>(weights.second + tmpl.second + sys.second +
                                                        params.second + lic.second + msgs.second +
                                                        cfg.second));
}

TEST(Store, ManifestNeedsEveryBlob) {
  TempDir d;
  auto s = Store::open(d.path());
  ASSERT_TRUE(s.ok());
  Manifest m;
  m.config = {std::string(kConfigMediaType), dg("cfg"), 3, "", ""};
  auto name = *ModelName::parse("x");
  EXPECT_FALSE(s->write_manifest(name, m).ok());  // config blob missing
  ASSERT_TRUE(s->import_blob_bytes("cfg").ok());
  m.layers.push_back({std::string(kMediaModel), dg("w"), 2, "", ""});  // wrong size
  ASSERT_TRUE(s->import_blob_bytes("w").ok());
  EXPECT_FALSE(s->write_manifest(name, m).ok());
  EXPECT_FALSE(fs::exists(d.path() + "/manifests/registry.ollama.ai"));
  m.layers[0].size = 1;
  EXPECT_TRUE(s->write_manifest(name, m).ok());
}

TEST(Store, CopyRemoveAndPruneKeepSharedBlobs) {
  TempDir d;
  auto s = Store::open(d.path());
  ASSERT_TRUE(s.ok());
  add_model(*s, "a", "shared weights", "template A");
  add_model(*s, "b", "shared weights", "template B");
  ASSERT_TRUE(s->copy(*ModelName::parse("a"), *ModelName::parse("ns/c:v2")).ok());
  EXPECT_EQ(*s->read_manifest_bytes(*ModelName::parse("a")),
            *s->read_manifest_bytes(*ModelName::parse("ns/c:v2")));
  // Junk and a stale temp file: prune removes both, keeps all referenced blobs.
  ASSERT_TRUE(s->import_blob_bytes("orphan").ok());
  std::ofstream(d.path() + "/blobs/import.tmp-123") << "x";
  std::ofstream(d.path() + "/blobs/sha256-" + std::string(64, 'c') + "-partial") << "resume";
  auto p = s->prune();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->n_removed, 2);
  EXPECT_FALSE(s->has_blob(dg("orphan")));
  EXPECT_TRUE(fs::exists(d.path() + "/blobs/sha256-" + std::string(64, 'c') + "-partial"));

  ASSERT_TRUE(s->remove(*ModelName::parse("A")).ok());  // case-insensitive
  EXPECT_TRUE(s->has_blob(dg("template A")));           // still used by ns/c:v2
  ASSERT_TRUE(s->remove(*ModelName::parse("ns/c:v2")).ok());
  EXPECT_FALSE(s->has_blob(dg("template A")));
  EXPECT_TRUE(s->has_blob(dg("shared weights")));  // b still uses it
  EXPECT_FALSE(fs::exists(d.path() + "/manifests/registry.ollama.ai/ns"));
  EXPECT_FALSE(s->remove(*ModelName::parse("a")).ok());
  ASSERT_TRUE(s->remove(*ModelName::parse("b")).ok());
  EXPECT_FALSE(s->has_blob(dg("shared weights")));
}

TEST(Store, PruneRefusesWhenAManifestIsCorrupt) {
  TempDir d;
  auto s = Store::open(d.path());
  ASSERT_TRUE(s.ok());
  add_model(*s, "a", "w", "t");
  fs::create_directories(d.path() + "/manifests/h/n/m");
  std::ofstream(d.path() + "/manifests/h/n/m/t") << "{not json";
  EXPECT_FALSE(s->prune().ok());
  EXPECT_TRUE(s->has_blob(dg("w")));
}

TEST(Store, ImportFileLinksOnceAndCopiesAcrossFilesystems) {
  TempDir d;
  auto s = Store::open(d.path() + "/store");
  ASSERT_TRUE(s.ok());
  const std::string src = d.path() + "/model.gguf";
  std::ofstream(src) << "GGUF bytes";
  auto a = s->import_blob_file(src, true);
  ASSERT_TRUE(a.ok()) << a.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(src.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);  // hard link, not a copy
  auto b = s->import_blob_file(src, true);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  ASSERT_EQ(::stat(src.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);  // second import stored nothing new
  auto c = s->import_blob_file(d.path() + "/missing.gguf", true);
  EXPECT_FALSE(c.ok());
  const std::string other = d.path() + "/other.gguf";
  std::ofstream(other) << "other bytes";
  auto e = s->import_blob_file(other, false);  // copy path
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(::stat(other.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(*read_file(s->blob_path(*e)), "other bytes");
}

TEST(Store, DefaultRootFromEnvironment) {
  ::setenv("CORRAL_MODELS", "/tmp/corral-a", 1);
  ::setenv("OLLAMA_MODELS", "/tmp/ollama-b", 1);
  EXPECT_EQ(Store::default_root(), "/tmp/corral-a");
  ::unsetenv("CORRAL_MODELS");
  EXPECT_EQ(Store::default_root(), "/tmp/ollama-b");
  ::unsetenv("OLLAMA_MODELS");
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(Store::default_root(), "/home/u/.corral/models");
}

}  // namespace
}  // namespace corral
