// The server in-process on a free port: config parsing, Host/CORS rules, status mapping, NDJSON
// shape and cancellation when a streaming client goes away (stories260K via a GGUF path).
#include "server/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <thread>

namespace corral::server {
namespace {

TEST(ServerConfig, ParsesHostPort) {
  std::string h;
  int p = 0;
  ASSERT_TRUE(parse_host_port("0.0.0.0", &h, &p));
  EXPECT_EQ(h, "0.0.0.0");
  EXPECT_EQ(p, 11434);
  ASSERT_TRUE(parse_host_port("http://example.com", &h, &p));
  EXPECT_EQ(p, 80);
  ASSERT_TRUE(parse_host_port("https://example.com:8443/x", &h, &p));
  EXPECT_EQ(h, "example.com");
  EXPECT_EQ(p, 8443);
  ASSERT_TRUE(parse_host_port(":5000", &h, &p));
  EXPECT_EQ(h, "127.0.0.1");
  EXPECT_EQ(p, 5000);
  ASSERT_TRUE(parse_host_port("[::1]:7", &h, &p));
  EXPECT_EQ(h, "::1");
  EXPECT_EQ(p, 7);
  EXPECT_FALSE(parse_host_port("host:99999", &h, &p));
  EXPECT_FALSE(parse_host_port("host:x", &h, &p));
}

TEST(ServerConfig, HostHeaderRule) {
  for (const char* ok : {"", "localhost", "localhost:11434", "127.0.0.1:1", "[::1]:11434", "10.1.2.3",
                         "192.168.0.5:80", "172.16.0.1", "foo.localhost", "box.local", "svc.internal", "0.0.0.0"})
    EXPECT_TRUE(host_header_allowed(ok)) << ok;
  for (const char* bad : {"evil.com", "evil.com:11434", "8.8.8.8", "172.32.0.1", "[2001:db8::1]:80", "localhost.evil.com"})
    EXPECT_FALSE(host_header_allowed(bad)) << bad;
}

TEST(ServerConfig, OriginRule) {
  EXPECT_TRUE(origin_allowed("http://localhost", {}));
  EXPECT_TRUE(origin_allowed("http://localhost:3000", {}));
  EXPECT_TRUE(origin_allowed("https://127.0.0.1:8080", {}));
  EXPECT_TRUE(origin_allowed("vscode-webview://abc", {}));
  EXPECT_FALSE(origin_allowed("http://localhost.evil.com", {}));
  EXPECT_FALSE(origin_allowed("https://example.com", {}));
  EXPECT_TRUE(origin_allowed("https://example.com", {"https://example.com"}));
  EXPECT_TRUE(origin_allowed("https://app.example.com", {"https://*"}));
}

class LiveServer : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string model = std::string(CORRAL_SHARED_DIR) + "/models/stories260K.gguf";
    ::setenv("CORRAL_MODEL_PATHS", ("stories=" + model).c_str(), 1);
    ServerConfig cfg;
    cfg.port = 0;
    cfg.max_json_body_bytes = body_limit();
    SchedulerConfig sc;
    state_ = std::make_shared<ServerState>(nullptr, sc, cfg);
    srv_ = std::make_unique<HttpServer>(state_);
    port_ = srv_->bind();
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { srv_->serve(); });
    cli_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    cli_->set_read_timeout(60, 0);
    for (int i = 0; i < 100 && !cli_->Get("/"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  virtual size_t body_limit() const { return 4096; }
  void TearDown() override {
    srv_->stop();
    if (thread_.joinable()) thread_.join();
  }
  std::shared_ptr<ServerState> state_;
  std::unique_ptr<HttpServer> srv_;
  std::unique_ptr<httplib::Client> cli_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(LiveServer, LivenessAndErrors) {
  auto r = cli_->Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Ollama is running");
  r = cli_->Post("/api/generate", R"({"model":"x","prompt":"hi"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, R"({"error":"model \"x\" not found, try pulling it first"})");
  r = cli_->Post("/api/generate", R"({"model":)", "application/json");
  EXPECT_EQ(r->status, 400);
  r = cli_->Post("/api/chat", std::string(5000, ' ') + "{}", "application/json");
  EXPECT_EQ(r->status, 413);
  r = cli_->Post("/v1/chat/completions", R"({"model":"x","messages":[{"role":"user","content":"a"}]})", "application/json");
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find(R"("type":"not_found_error")"), std::string::npos);
}

// A body above httplib's 8 KiB form limit, labelled as a form the way `curl -d` labels it, is read
// as JSON (Ollama ignores the label), not refused with 413.
class LiveServerLargeBodies : public LiveServer {
 protected:
  size_t body_limit() const override { return size_t{1} << 20; }
};

TEST_F(LiveServerLargeBodies, JsonLabelledAsAFormIsReadWhateverItsSize) {
  const std::string body = R"({"model":"stories","prompt":"Once upon a time","stream":false,)" +
                           std::string(20000, ' ') + R"("options":{"temperature":0,"num_predict":3}})";
  for (const char* type : {"application/x-www-form-urlencoded", "application/json", "text/plain"}) {
    auto r = cli_->Post("/api/generate", body, type);
    ASSERT_TRUE(r) << type;
    ASSERT_EQ(r->status, 200) << type << ": " << r->body;
    EXPECT_EQ(api::Json::parse(r->body)["eval_count"], 3) << type;
  }
  auto r = cli_->Post("/api/generate", std::string(20000, ' ') + R"({"model":)", "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(LiveServer, GenerateNdjsonShape) {
  auto r = cli_->Post("/api/generate",
                      R"({"model":"stories","prompt":"Once upon a time","options":{"temperature":0,"num_predict":5}})",
                      "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/x-ndjson");
  std::vector<api::Json> lines;
  size_t start = 0;
  while (start < r->body.size()) {
    const size_t nl = r->body.find('\n', start);
    ASSERT_NE(nl, std::string::npos);
    lines.push_back(api::Json::parse(r->body.substr(start, nl - start)));
    start = nl + 1;
  }
  ASSERT_GE(lines.size(), 2u);
  std::string text;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_FALSE(lines[i]["done"].get<bool>());
    text += lines[i]["response"].get<std::string>();
  }
  const auto& last = lines.back();
  EXPECT_TRUE(last["done"].get<bool>());
  EXPECT_EQ(last["done_reason"], "length");
  EXPECT_EQ(last["eval_count"], 5);
  EXPECT_GT(last["total_duration"].get<int64_t>(), last["eval_duration"].get<int64_t>());
  EXPECT_GT(last["load_duration"].get<int64_t>(), 0);
  // Non-streaming gives the same text at temperature 0, and no load the second time.
  auto r2 = cli_->Post("/api/generate",
                       R"({"model":"stories","prompt":"Once upon a time","stream":false,"options":{"temperature":0,"num_predict":5}})",
                       "application/json");
  auto j = api::Json::parse(r2->body);
  EXPECT_EQ(j["response"].get<std::string>(), text + last["response"].get<std::string>());
  EXPECT_FALSE(j.contains("load_duration"));
}

// Past num_ctx: a prompt is cut by default and refused, sizes named, with truncate false; a chat
// drops old messages unless truncate is false; generation shifts the context by default and
// stops at the limit with shift false.
TEST_F(LiveServer, ContextLimitFollowsTruncateAndShift) {
  std::string long_text;
  for (int i = 0; i < 12; ++i) long_text += "Once upon a time there was a girl. ";
  auto post = [&](const std::string& path, const std::string& fields) {
    auto r = cli_->Post(path, R"({"model":"stories","stream":false,)" + fields + "}", "application/json");
    EXPECT_TRUE(r);
    return r;
  };
  const std::string opts = R"("options":{"temperature":0,"num_ctx":32,"num_predict":4})";
  auto r = post("/api/generate", R"("raw":true,"truncate":false,"prompt":")" + long_text + "\"," + opts);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("longer than the context of 32 tokens"), std::string::npos) << r->body;
  r = post("/api/generate", R"("raw":true,"prompt":")" + long_text + "\"," + opts);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(api::Json::parse(r->body)["prompt_eval_count"], 31);

  const std::string turn = R"({"role":"user","content":")" + long_text.substr(0, 70) + "\"}";
  std::string messages = R"("messages":[)";
  for (int i = 0; i < 6; ++i) messages += turn + ",";
  messages.back() = ']';
  r = post("/api/chat", messages + ",\"truncate\":false," + opts);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("num_ctx"), std::string::npos) << r->body;
  r = post("/api/chat", messages + "," + opts);
  EXPECT_EQ(r->status, 200) << r->body;

  const std::string gen_opts = R"("options":{"temperature":0,"num_ctx":32,"num_predict":60})";
  r = post("/api/generate", R"("raw":true,"shift":false,"prompt":"Once",)" + gen_opts);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = api::Json::parse(r->body);
  EXPECT_EQ(j["done_reason"], "length");
  EXPECT_EQ(j["eval_count"].get<int>() + j["prompt_eval_count"].get<int>(), 32);
  r = post("/api/generate", R"("raw":true,"prompt":"Once",)" + gen_opts);
  ASSERT_EQ(r->status, 200) << r->body;
  j = api::Json::parse(r->body);
  EXPECT_EQ(j["done_reason"], "length");
  EXPECT_EQ(j["eval_count"], 60);
}

TEST_F(LiveServer, DisconnectCancelsGeneration) {
  auto generated = [&] {
    const std::string m = state_->metrics.render(state_->host.scheduler());
    const std::string key = "\ncorral_generated_tokens_total ";  // the sample, not the HELP line
    const auto pos = m.find(key);
    return pos == std::string::npos ? -1L : std::strtol(m.c_str() + pos + key.size(), nullptr, 10);
  };
  // shift false: the run ends at the context limit (256 tokens), not after 10 contexts.
  const std::string body = R"({"model":"stories","prompt":"Once","shift":false,"options":{"temperature":1,"seed":7,"num_predict":100000,"num_ctx":256}})";
  // The same request run to its end, for reference.
  auto ref = cli_->Post("/api/generate", R"({"stream":false,)" + body.substr(1), "application/json");
  ASSERT_TRUE(ref);
  const int64_t full = api::Json::parse(ref->body)["eval_count"].get<int64_t>();
  ASSERT_GT(full, 30) << "the reference run is too short to show cancellation";
  const long before = generated();
  // A client that reads two chunks and leaves.
  int chunks = 0;
  httplib::Client c2("127.0.0.1", port_);
  httplib::Request req;
  req.method = "POST";
  req.path = "/api/generate";
  req.body = body;
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 2; };
  (void)c2.send(req);
  c2.stop();
  EXPECT_GE(chunks, 2);
  bool idle = false;
  for (int i = 0; i < 200 && !idle; ++i) {
    idle = true;
    for (const auto& m : state_->host.scheduler().loaded()) idle = idle && m.n_active == 0;
    if (!idle) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(idle) << "the generation was not cancelled";
  const long used = generated() - before;
  EXPECT_LT(used, full) << "ran to the end instead of stopping when the client left";
  EXPECT_TRUE(cli_->Get("/"));
}

}  // namespace
}  // namespace corral::server
