// Runner deadlines on the real stories260K model: a request past its deadline while queued ends
// with no text, one that runs out mid-generation ends with the text it has (a prefix of the
// undisturbed output) and frees its slot; the step pause (the stall test hook) ends on cancel.
#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "engine/loaded_model.h"
#include "engine/runner.h"

namespace corral {
namespace {

const char* kStories = CORRAL_SHARED_DIR "/models/stories260K.gguf";

int64_t mono_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

GenerateRequest greedy(int n) {
  GenerateRequest r;
  r.sampling.temperature = 0.0f;
  r.sampling.repeat_penalty = 1.0f;
  r.num_predict = n;
  return r;
}

std::unique_ptr<Runner> make_runner(int32_t step_delay_ms) {
  auto m = load_model(kStories);
  EXPECT_TRUE(m.ok());
  RunnerParams p;
  p.n_ctx = 512;
  p.step_delay_ms = step_delay_ms;
  auto r = Runner::create(m->model, m->tokenizer, p);
  EXPECT_TRUE(r.ok());
  return std::move(*r);
}

struct Outcome {
  std::string text;
  GenerateEvent done;
};

Outcome run(Runner& r, GenerateRequest req) {
  Outcome o;
  auto res = r.generate(std::move(req), [&](const GenerateEvent& ev) {
    o.text += ev.text;
    return true;
  });
  EXPECT_TRUE(res.ok());
  if (res.ok()) o.done = *res;
  return o;
}

TEST(RunnerDeadline, PassedBeforeStartEndsWithNoText) {
  auto r = make_runner(0);
  auto req = greedy(20);
  req.deadline_ns = mono_now() - 1;
  Outcome o = run(*r, req);
  EXPECT_EQ(o.done.done_reason, "deadline");
  EXPECT_EQ(o.done.eval_count, 0);
  EXPECT_TRUE(o.text.empty()) << o.text;
}

TEST(RunnerDeadline, MidGenerationReturnsPartialTextAndFreesTheSlot) {
  auto r = make_runner(0);
  const Outcome full = run(*r, greedy(300));
  ASSERT_EQ(full.done.done_reason, "length");

  // The same request on a stalled model (40 ms a step): 300 steps take 12 s, the deadline
  // ends it far sooner.
  auto slow = make_runner(40);
  auto req = greedy(300);
  req.deadline_ns = mono_now() + 400'000'000;
  const Outcome cut = run(*slow, req);
  EXPECT_EQ(cut.done.done_reason, "deadline");
  EXPECT_LT(cut.done.eval_count, 300);
  EXPECT_EQ(full.text.compare(0, cut.text.size(), cut.text), 0)
      << "partial output must be a prefix of the undisturbed output: " << cut.text;
  // The only slot is free again: the next request runs to its end.
  const Outcome next = run(*slow, greedy(3));
  EXPECT_EQ(next.done.done_reason, "length");
  EXPECT_EQ(next.done.eval_count, 3);
  EXPECT_EQ(full.text.compare(0, next.text.size(), next.text), 0);
}

TEST(RunnerDeadline, QueuedBehindALongRequestExpiresWithoutDisturbingIt) {
  auto r = make_runner(20);  // one slot, 20 ms a step
  std::promise<GenerateEvent> long_done;
  std::string long_text;
  auto long_id = r->submit(greedy(400), [&](const GenerateEvent& ev) {
    long_text += ev.text;
    if (ev.done) long_done.set_value(ev);
    return true;
  });
  ASSERT_TRUE(long_id.ok());
  auto queued = greedy(5);
  queued.deadline_ns = mono_now() + 150'000'000;
  const Outcome o = run(*r, queued);  // waits behind the long one: it never gets the slot
  EXPECT_EQ(o.done.done_reason, "deadline");
  EXPECT_EQ(o.done.eval_count, 0);
  EXPECT_TRUE(o.text.empty());
  r->cancel(*long_id);  // the pause before the next step ends at once
  const GenerateEvent ev = long_done.get_future().get();
  EXPECT_EQ(ev.done_reason, "cancel") << "the long request was still running, not ended by the other's deadline";
}

}  // namespace
}  // namespace corral
