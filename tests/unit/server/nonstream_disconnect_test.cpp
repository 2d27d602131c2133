// A non-streaming client that hangs up stops its generation: the server writes nothing until the
// end, so only the connection probe can notice. "slow" is stories260K with every decode step
// stalled 20 ms (the fault test hook), so a whole answer takes far longer than the client waits.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <thread>

#include "server/server.h"

namespace corral::server {
namespace {

long generated_tokens(ServerState& st) {
  const std::string m = st.metrics.render(st.host.scheduler());
  const std::string key = "\ncorral_generated_tokens_total ";  // the sample, not the HELP line
  const auto pos = m.find(key);
  return pos == std::string::npos ? -1L : std::strtol(m.c_str() + pos + key.size(), nullptr, 10);
}

TEST(NonStreamingDisconnect, ClientThatHangsUpFreesItsSlot) {
  const std::string model = std::string(CORRAL_SHARED_DIR) + "/models/stories260K.gguf";
  ::setenv("CORRAL_MODEL_PATHS", ("stories=" + model + ",slow=" + model).c_str(), 1);
  ::setenv("CORRAL_ENABLE_TEST_HOOKS", "1", 1);
  ::setenv("CORRAL_TEST_FAULTS", "slow:stall_ms=20", 1);
  ServerConfig cfg;
  cfg.port = 0;
  auto state = std::make_shared<ServerState>(nullptr, SchedulerConfig{}, cfg);
  ::unsetenv("CORRAL_TEST_FAULTS");
  ::unsetenv("CORRAL_ENABLE_TEST_HOOKS");
  HttpServer srv(state);
  const int port = srv.bind();
  ASSERT_GT(port, 0);
  std::thread serving([&] { srv.serve(); });

  const std::string opts = R"("options":{"temperature":0,"num_predict":120,"num_ctx":512}})";
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(120, 0);
  // The whole answer, from the model without the stall (greedy: the same tokens).
  auto ref = cli.Post("/api/generate", R"({"model":"stories","prompt":"Once","stream":false,)" + opts,
                      "application/json");
  ASSERT_TRUE(ref);
  const long full = api::Json::parse(ref->body)["eval_count"].get<long>();
  ASSERT_GT(full, 40) << "the answer is too short to show cancellation";

  const long before = generated_tokens(*state);
  httplib::Client impatient("127.0.0.1", port);
  impatient.set_read_timeout(0, 300 * 1000);  // gives up after 300 ms, closing the connection
  auto gone = impatient.Post("/api/generate", R"({"model":"slow","prompt":"Once","stream":false,)" + opts,
                             "application/json");
  EXPECT_FALSE(gone) << "the answer came before the client gave up";
  impatient.stop();

  bool idle = false;
  for (int i = 0; i < 500 && !idle; ++i) {
    idle = true;
    for (const auto& m : state->host.scheduler().loaded()) idle = idle && m.n_active == 0;
    if (!idle) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(idle) << "the generation kept its slot";
  const long used = generated_tokens(*state) - before;
  EXPECT_LT(used, full) << "ran to the end although the client had left";
  EXPECT_TRUE(cli.Get("/"));

  // A client that hangs up while its request waits behind another for the only slot: its
  // generation must never start, so the tokens counted are those of the first request alone.
  const long before_queue = generated_tokens(*state);
  long first_count = -1;
  std::thread first([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(120, 0);
    auto r = c.Post("/api/generate", R"({"model":"slow","prompt":"Once","stream":false,)" + opts, "application/json");
    if (r && r->status == 200) first_count = api::Json::parse(r->body)["eval_count"].get<long>();
  });
  bool busy = false;
  for (int i = 0; i < 500 && !busy; ++i) {
    for (const auto& m : state->host.scheduler().loaded()) busy = busy || m.n_active > 0;
    if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(busy);
  httplib::Client queued("127.0.0.1", port);
  queued.set_read_timeout(0, 300 * 1000);
  EXPECT_FALSE(queued.Post("/api/generate", R"({"model":"slow","prompt":"Once upon","stream":false,)" + opts,
                           "application/json"));
  queued.stop();
  first.join();
  ASSERT_GT(first_count, 0);
  idle = false;
  for (int i = 0; i < 500 && !idle; ++i) {
    idle = true;
    for (const auto& m : state->host.scheduler().loaded()) idle = idle && m.n_active == 0;
    if (!idle) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(idle);
  EXPECT_EQ(generated_tokens(*state) - before_queue, first_count) << "the abandoned queued request still ran";
  srv.stop();
  serving.join();
}

}  // namespace
}  // namespace corral::server
