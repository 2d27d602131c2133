// EmbedBatcher: concurrent requests share encoder calls, each gets its own rows in order, and an
// error reaches every request packed into the failing call.
#include "server/embed_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

namespace corral::server {
namespace {

using Seqs = EmbedBatcher::Seqs;
using Rows = EmbedBatcher::Rows;

// A stand-in encoder: one row {first token, length} per sequence.
Result<Rows> fake_embed(const Seqs& seqs) {
  Rows rows;
  for (const auto& s : seqs) rows.push_back({static_cast<float>(s.front()), static_cast<float>(s.size())});
  return rows;
}

TEST(EmbedBatcher, OneRequestGetsItsRowsInOrder) {
  EmbedBatcher b;
  auto r = b.embed({{7, 1, 2}, {9}}, fake_embed);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (Rows{{7, 3}, {9, 1}}));
  EXPECT_EQ(b.calls(), 1);
}

TEST(EmbedBatcher, RequestsArrivingDuringACallShareTheNext) {
  EmbedBatcher b;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> calls{0};
  std::vector<size_t> call_sizes(8, 0);
  auto fn = [&](const Seqs& seqs) -> Result<Rows> {
    const int n = calls.fetch_add(1);
    call_sizes[static_cast<size_t>(n)] = seqs.size();
    if (n == 0) released.wait();  // the first call runs until the others have queued
    return fake_embed(seqs);
  };
  constexpr int kOthers = 5;
  std::vector<std::future<Result<Rows>>> results;
  results.push_back(std::async(std::launch::async, [&] { return b.embed({{100}}, fn); }));
  while (calls.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 0; i < kOthers; ++i)
    results.push_back(std::async(std::launch::async, [&, i] {
      return b.embed({{i, i}, {i + 10, i, i}}, fn);  // two sequences each
    }));
  while (b.requests() < 1 + kOthers) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  release.set_value();
  auto first = results[0].get();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, (Rows{{100, 1}}));
  for (int i = 0; i < kOthers; ++i) {
    auto r = results[static_cast<size_t>(i + 1)].get();
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, (Rows{{static_cast<float>(i), 2}, {static_cast<float>(i + 10), 3}})) << i;
  }
  // The first call alone, then all five waiting requests (ten sequences) in one.
  EXPECT_EQ(b.calls(), 2);
  EXPECT_EQ(call_sizes[0], 1u);
  EXPECT_EQ(call_sizes[1], 2u * kOthers);
}

TEST(EmbedBatcher, AFailedCallFailsItsRequestsAndTheNextOneWorks) {
  EmbedBatcher b;
  auto r = b.embed({{1}}, [](const Seqs&) -> Result<Rows> { return make_error("out of memory"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "out of memory");
  r = b.embed({{1}}, [](const Seqs&) -> Result<Rows> { throw std::runtime_error("boom"); });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("boom"), std::string::npos);
  r = b.embed({{1}, {2}}, [](const Seqs&) -> Result<Rows> { return Rows{{1}}; });  // one row short
  ASSERT_FALSE(r.ok());
  r = b.embed({{4}}, fake_embed);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (Rows{{4, 1}}));
}

}  // namespace
}  // namespace corral::server
