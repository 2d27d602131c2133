// Registry client against an in-process fake registry on 127.0.0.1: happy path with token and
// redirect, injected faults, resume, digest mismatch, push, concurrent pulls.
#include "store/registry/registry_client.h"

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "base/file_util.h"
#include "base/sha256.h"
#include "fake_registry.h"
#include "store_test_util.h"

namespace corral {
namespace {
namespace fs = std::filesystem;
using registry::Client;
using registry::Options;
using registry::Progress;

// Every file under the store (path -> size), except the lock file.
std::map<std::string, uintmax_t> snapshot(const std::string& root) {
  std::map<std::string, uintmax_t> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && e.path().filename() != ".corral.lock") {
      out[fs::relative(e.path(), root).string()] = e.file_size();
    }
  }
  return out;
}

std::string pattern_bytes(size_t n, unsigned seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return s;
}

struct RegistryClient : ::testing::Test {
  test::TempDir dir;
  test::FakeRegistry reg;
  std::string weights = pattern_bytes(300'000, 1);
  std::string weights_digest, config_digest, template_digest;
  std::string manifest;

  void SetUp() override {
    weights_digest = reg.add_blob(weights);
    const std::string cfg = R"({"model_format":"gguf"})";
    config_digest = reg.add_blob(cfg);
    template_digest = reg.add_blob("{{ .Prompt }}");
    Manifest m;
    m.config = {std::string(kConfigMediaType), config_digest, static_cast<int64_t>(cfg.size()), "", ""};
    m.layers.push_back({std::string(kMediaModel), weights_digest, static_cast<int64_t>(weights.size()), "", ""});
    m.layers.push_back({std::string(kMediaTemplate), template_digest, 13, "", ""});
    manifest = m.serialize();
    reg.manifests["library/tiny:latest"] = manifest;
    reg.fault_digest = weights_digest;
  }

  Options fast_options() {
    Options o;
    o.insecure = true;
    o.min_part_bytes = 64 * 1024;  // 300 KB -> 5 parts
    o.backoff_base_ms = 10;
    o.stall_timeout_s = 1;
    o.max_tries = 4;
    return o;
  }
  ModelName name(const std::string& model = "library/tiny") {
    return *ModelName::parse(reg.host() + "/" + model);
  }
  Store open_store(const std::string& sub = "s") { return *Store::open(dir.path() + "/" + sub); }
};

TEST_F(RegistryClient, PullsWithTokenRedirectAndParts) {
  reg.require_token = true;
  reg.redirect_blobs = true;
  Store s = open_store();
  Client c(s, fast_options());
  std::vector<Progress> events;
  Status st = c.pull(name(), [&](const Progress& p) { events.push_back(p); });
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_GE(reg.token_requests.load(), 1);
  EXPECT_FALSE(reg.auth_sent_to_blob_host.load());  // the blob host never sees the token
  EXPECT_EQ(reg.blob_gets.load(), 5 + 2);            // 5 ranged parts + config + template
  EXPECT_EQ(*read_file(s.blob_path(weights_digest)), weights);
  // The manifest is stored byte for byte at the Ollama path for this host.
  EXPECT_EQ(*read_file(s.manifests_dir() + "/" + reg.host() + "/library/tiny/latest"), manifest);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().status, "pulling manifest");
  EXPECT_EQ(events.back().status, "success");
  bool saw_full = false;
  for (const auto& e : events) {
    if (e.digest == weights_digest && e.completed == e.total && e.total == 300'000) saw_full = true;
    EXPECT_LE(e.completed, e.total);
  }
  EXPECT_TRUE(saw_full);
  // No partial or sidecar files remain.
  for (const auto& [path, size] : snapshot(s.root())) EXPECT_EQ(path.find("partial"), std::string::npos) << path;
  // A second pull downloads nothing.
  const int gets = reg.blob_gets;
  ASSERT_TRUE(c.pull(name(), nullptr).ok());
  EXPECT_EQ(reg.blob_gets.load(), gets);
}

TEST_F(RegistryClient, RetriesInjected500s) {
  reg.blob_500s = 3;
  Store s = open_store();
  Client c(s, fast_options());
  Status st = c.pull(name(), nullptr);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(*read_file(s.blob_path(weights_digest)), weights);
}

TEST_F(RegistryClient, ResumesAfterConnectionCut) {
  Options o = fast_options();
  o.min_part_bytes = 1 << 20;  // one part, so the resume Range is easy to see
  reg.cuts = 1;
  Store s = open_store();
  Client c(s, o);
  Status st = c.pull(name(), nullptr);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(*read_file(s.blob_path(weights_digest)), weights);
  bool resumed = false;
  for (const auto& r : reg.ranges) resumed = resumed || r.rfind("bytes=150000-", 0) == 0;
  EXPECT_TRUE(resumed);
}

TEST_F(RegistryClient, RestartsStalledTransfer) {
  Options o = fast_options();
  o.max_tries = 1;  // a stall must not use up tries
  reg.stalls = 1;
  Store s = open_store();
  Client c(s, o);
  auto t0 = std::chrono::steady_clock::now();
  Status st = c.pull(name(), nullptr);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(*read_file(s.blob_path(weights_digest)), weights);
  EXPECT_GE(reg.blob_gets.load(), 5 + 2 + 1);  // the stalled part was requested again
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST_F(RegistryClient, WrongDigestLeavesStoreUnchanged) {
  Store s = open_store();
  Client c(s, fast_options());
  ASSERT_TRUE(c.pull(name(), nullptr).ok());  // an existing model must survive
  const auto before = snapshot(s.root());
  reg.manifests["library/other:latest"] = manifest;
  std::string bad = weights;
  bad[1000] ^= 1;
  reg.corrupt[weights_digest] = bad;
  Store s2 = open_store("s2");
  Client c2(s2, fast_options());
  const auto before2 = snapshot(s2.root());
  Status st = c2.pull(name("library/other"), nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("digest mismatch"), std::string::npos) << st.error().message;
  EXPECT_EQ(snapshot(s2.root()), before2);
  EXPECT_EQ(snapshot(s.root()), before);
}

TEST_F(RegistryClient, RegistryErrorsAreClearAndChangeNothing) {
  Store s = open_store();
  const auto before = snapshot(s.root());
  {
    Client c(s, fast_options());
    Status st = c.pull(name("library/tiny:nope"), nullptr);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("not found"), std::string::npos) << st.error().message;
  }
  {
    reg.manifest_500s = 1;
    Client c(s, fast_options());
    Status st = c.pull(name(), nullptr);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("500"), std::string::npos) << st.error().message;
  }
  {
    Options o = fast_options();
    o.insecure = false;  // http:// names need --insecure
    Client c(s, o);
    Status st = c.pull(*ModelName::parse("http://" + reg.host() + "/library/tiny"), nullptr);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("insecure"), std::string::npos);
  }
  {
    // 401 and the token service refuses: a clear error.
    reg.require_token = true;
    reg.refuse_tokens = true;
    Client c(s, fast_options());
    Status st = c.pull(name(), nullptr);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("401"), std::string::npos) << st.error().message;
    reg.require_token = false;
  }
  EXPECT_EQ(snapshot(s.root()), before);
}

TEST_F(RegistryClient, PersistentBlobFailureKeepsResumeStateThenResumes) {
  Options o = fast_options();
  o.min_part_bytes = 1 << 20;
  reg.cuts = 1;          // half the blob arrives...
  reg.blob_500s = 0;
  Store s = open_store();
  {
    Options once = o;
    once.max_tries = 1;  // ...and the pull gives up at once
    Client c(s, once);
    Status st = c.pull(name(), nullptr);
    ASSERT_FALSE(st.ok());
  }
  EXPECT_FALSE(s.has_blob(weights_digest));
  EXPECT_FALSE(fs::exists(s.manifests_dir() + "/" + reg.host()));
  const std::string partial = s.partial_path(weights_digest);
  ASSERT_TRUE(fs::exists(partial));
  ASSERT_TRUE(fs::exists(partial + "-0"));
  reg.ranges.clear();
  Client c(s, o);
  Status st = c.pull(name(), nullptr);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(*read_file(s.blob_path(weights_digest)), weights);
  bool resumed = false;
  for (const auto& r : reg.ranges) resumed = resumed || r.rfind("bytes=150000-", 0) == 0;
  EXPECT_TRUE(resumed);
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_FALSE(fs::exists(partial + "-0"));
}

TEST_F(RegistryClient, ConcurrentPullsOfTheSameModel) {
  Store s = open_store();
  Status a, b;
  std::thread t1([&] { Client c(s, fast_options()); a = c.pull(name(), nullptr); });
  std::thread t2([&] { Client c(s, fast_options()); b = c.pull(name(), nullptr); });
  t1.join();
  t2.join();
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(*read_file(s.blob_path(weights_digest)), weights);
  EXPECT_LE(reg.blob_gets.load(), 7 * 2);
  auto r = s.resolve_model(name());
  EXPECT_TRUE(r.ok());
}

TEST_F(RegistryClient, PushMonolithicAndChunked) {
  Store s = open_store();
  {
    Client c(s, fast_options());
    ASSERT_TRUE(c.pull(name(), nullptr).ok());
  }
  test::FakeRegistry dst;
  dst.require_token = true;
  Options o = fast_options();
  o.upload_chunk_bytes = 100'000;  // weights go in 3 PATCH chunks; small blobs in one PUT
  ASSERT_TRUE(s.copy(name(), *ModelName::parse(dst.host() + "/me/tiny:v1")).ok());
  Client c(s, o);
  std::vector<Progress> events;
  Status st = c.push(*ModelName::parse(dst.host() + "/me/tiny:v1"),
                     [&](const Progress& p) { events.push_back(p); });
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(dst.blobs[weights_digest], weights);
  EXPECT_EQ(dst.blobs.size(), 3u);
  EXPECT_EQ(dst.manifests["me/tiny:v1"], manifest);
  EXPECT_EQ(dst.patches.load(), 3);
  EXPECT_EQ(dst.uploads_started.load(), 3);
  EXPECT_EQ(events.back().status, "success");
  // Pushing again: HEAD finds every blob, nothing is uploaded.
  ASSERT_TRUE(c.push(*ModelName::parse(dst.host() + "/me/tiny:v1"), nullptr).ok());
  EXPECT_EQ(dst.uploads_started.load(), 3);
}

TEST(RegistryProgress, JsonShapeMatchesOllama) {
  EXPECT_EQ(registry::progress_json({"pulling manifest", "", 0, 0}), R"({"status":"pulling manifest"})");
  EXPECT_EQ(registry::progress_json({"pulling 0123456789ab", "sha256:0123", 10, 4}),
            R"({"status":"pulling 0123456789ab","digest":"sha256:0123","total":10,"completed":4})");
  EXPECT_EQ(registry::short_digest("sha256:0123456789abcdef"), "0123456789ab");
}

}  // namespace
}  // namespace corral
