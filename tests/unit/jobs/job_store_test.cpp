// The SQLite job store with explicit clocks: claim order (priority, then FIFO), leases and their
// expiry, the one retry after a crash, deadlines, cancellation, retention, claims that lost
// their lease, and two stores on one file never claiming the same job.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "jobs/job_store.h"

namespace corral::jobs {
namespace {

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("corral_jobs_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto s = open_job_store((dir_ / "jobs.db").string());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  static NewJob job(int64_t priority = 0, int64_t deadline_ms = 0) {
    NewJob j;
    j.type = "generate";
    j.model = "m";
    j.request = R"({"model":"m","prompt":"x","stream":false})";
    j.priority = priority;
    j.deadline_ms = deadline_ms;
    return j;
  }
  std::string enqueue1(const NewJob& j, int64_t now) {
    auto ids = store_->enqueue({j}, now);
    EXPECT_TRUE(ids.ok());
    return ids.ok() ? (*ids)[0] : "";
  }
  static Claim claim_of(const Job& j) { return {j.id, j.worker, j.attempts}; }

  std::filesystem::path dir_;
  std::unique_ptr<JobStore> store_;
};

TEST_F(JobStoreTest, EnqueueGetAndList) {
  const std::string id = enqueue1(job(), 1000);
  auto g = store_->get(id);
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ((*g)->status, JobStatus::kQueued);
  EXPECT_EQ((*g)->created_ms, 1000);
  EXPECT_EQ((*g)->attempts, 0);
  auto missing = store_->get("job-nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  NewJob other = job();
  other.model = "other";
  enqueue1(other, 1001);
  JobFilter f;
  f.model = "other";
  auto l = store_->list(f);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].model, "other");
  f = {};
  f.status = JobStatus::kQueued;
  f.limit = 1;
  l = store_->list(f);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->size(), 1u);
}

TEST_F(JobStoreTest, ClaimsHighestPriorityThenOldest) {
  const std::string low = enqueue1(job(0), 100);
  const std::string high = enqueue1(job(5), 200);
  const std::string low2 = enqueue1(job(0), 300);
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    auto c = store_->claim("w", 1000, 30000);
    ASSERT_TRUE(c.ok() && c->has_value());
    order.push_back((*c)->id);
    EXPECT_EQ((*c)->status, JobStatus::kRunning);
    EXPECT_EQ((*c)->attempts, 1);
    EXPECT_EQ((*c)->worker, "w");
    EXPECT_EQ((*c)->lease_until_ms, 31000);
  }
  EXPECT_EQ(order, (std::vector<std::string>{high, low, low2}));
  auto none = store_->claim("w", 1000, 30000);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(JobStoreTest, FinishRecordsResultOnceAndRunLog) {
  const std::string id = enqueue1(job(), 0);
  auto c = store_->claim("server-a", 10, 1000);
  ASSERT_TRUE(c.ok() && c->has_value());
  Outcome o;
  o.result = R"({"response":"hi"})";
  o.http_status = 200;
  auto f = store_->finish(claim_of(**c), o, 20);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(*f);
  auto again = store_->finish(claim_of(**c), o, 30);  // a second finish of the same claim
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto g = store_->get(id);
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ((*g)->status, JobStatus::kSucceeded);
  EXPECT_EQ((*g)->result, o.result);
  EXPECT_EQ((*g)->finished_ms, 20);
  EXPECT_EQ((*g)->worker, "server-a");
  auto runs = store_->runs(id);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].outcome, "succeeded");
  EXPECT_EQ((*runs)[0].worker, "server-a");
}

TEST_F(JobStoreTest, ExpiredLeaseIsRetriedOnceThenFails) {
  const std::string id = enqueue1(job(), 0);
  auto first = store_->claim("a", 100, 1000);
  ASSERT_TRUE(first.ok() && first->has_value());
  // Still leased: the sweep leaves it alone and nobody else can claim it.
  auto sw = store_->sweep(900, 2);
  ASSERT_TRUE(sw.ok());
  EXPECT_TRUE(sw->empty());
  auto none = store_->claim("b", 900, 1000);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // "a" died: after the lease the job goes back to the queue and "b" takes attempt 2.
  sw = store_->sweep(1200, 2);
  ASSERT_TRUE(sw.ok());
  EXPECT_TRUE(sw->empty());
  auto second = store_->claim("b", 1200, 1000);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->attempts, 2);
  EXPECT_EQ((*second)->worker, "b");
  // The stale claim of "a" can neither renew nor finish.
  auto renewed = store_->renew(claim_of(**first), 5000);
  ASSERT_TRUE(renewed.ok());
  EXPECT_FALSE(*renewed);
  auto stale = store_->finish(claim_of(**first), Outcome{}, 1300);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
  // "b" dies too: the second expiry fails the job as crashed.
  sw = store_->sweep(2300, 2);
  ASSERT_TRUE(sw.ok());
  ASSERT_EQ(sw->size(), 1u);
  EXPECT_EQ((*sw)[0].id, id);
  EXPECT_EQ((*sw)[0].status, JobStatus::kFailed);
  EXPECT_EQ((*sw)[0].reason, "crashed");
  auto runs = store_->runs(id);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].outcome, "lost");
  EXPECT_EQ((*runs)[1].outcome, "lost");
}

TEST_F(JobStoreTest, RenewKeepsTheLease) {
  enqueue1(job(), 0);
  auto c = store_->claim("a", 0, 1000);
  ASSERT_TRUE(c.ok() && c->has_value());
  auto r = store_->renew(claim_of(**c), 5000);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  auto sw = store_->sweep(2000, 2);
  ASSERT_TRUE(sw.ok());
  auto g = store_->get((*c)->id);
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ((*g)->status, JobStatus::kRunning);
}

TEST_F(JobStoreTest, DeadlinePassedFailsWithoutRunning) {
  const std::string late = enqueue1(job(9, 500), 1000);  // deadline at 1500
  const std::string ok = enqueue1(job(0), 1000);
  auto c = store_->claim("a", 1600, 1000);  // the late job, despite its priority, is not taken
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->id, ok);
  auto sw = store_->sweep(1600, 2);
  ASSERT_TRUE(sw.ok());
  ASSERT_EQ(sw->size(), 1u);
  EXPECT_EQ((*sw)[0].id, late);
  EXPECT_EQ((*sw)[0].reason, "deadline");
  EXPECT_EQ((*sw)[0].attempts, 0);
  auto runs = store_->runs(late);
  ASSERT_TRUE(runs.ok());
  EXPECT_TRUE(runs->empty());
}

TEST_F(JobStoreTest, CancelQueuedAndRunning) {
  const std::string q = enqueue1(job(), 0);
  const std::string r = enqueue1(job(1), 0);
  auto c = store_->claim("a", 10, 1000);
  ASSERT_TRUE(c.ok() && c->has_value());
  ASSERT_EQ((*c)->id, r);
  auto cq = store_->cancel(q, 20);
  ASSERT_TRUE(cq.ok());
  EXPECT_TRUE(cq->cancelled);
  EXPECT_EQ(cq->job->status, JobStatus::kCancelled);
  auto cr = store_->cancel(r, 20);
  ASSERT_TRUE(cr.ok());
  EXPECT_TRUE(cr->cancelled);
  // The worker's result arrives after the cancel: refused, the job stays cancelled.
  auto f = store_->finish(claim_of(**c), Outcome{}, 30);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(*f);
  auto renew = store_->renew(claim_of(**c), 99999);
  ASSERT_TRUE(renew.ok());
  EXPECT_FALSE(*renew);
  auto g = store_->get(r);
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ((*g)->status, JobStatus::kCancelled);
  auto twice = store_->cancel(r, 40);
  ASSERT_TRUE(twice.ok());
  EXPECT_FALSE(twice->cancelled);
  auto missing = store_->cancel("job-missing", 40);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->job.has_value());
  auto none = store_->claim("a", 50, 1000);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(JobStoreTest, ReleaseRequeuesWithoutSpendingTheAttempt) {
  const std::string id = enqueue1(job(), 0);
  auto c = store_->claim("a", 10, 1000);
  ASSERT_TRUE(c.ok() && c->has_value());
  ASSERT_TRUE(store_->release(claim_of(**c), 20).ok());
  auto again = store_->claim("b", 30, 1000);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->id, id);
  EXPECT_EQ((*again)->attempts, 1);
}

TEST_F(JobStoreTest, RetentionPurgesOnlyOldFinishedJobs) {
  const std::string old_done = enqueue1(job(), 0);
  const std::string queued = enqueue1(job(-1), 0);
  auto c = store_->claim("a", 10, 1000);
  ASSERT_TRUE(c.ok() && c->has_value());
  ASSERT_EQ((*c)->id, old_done);
  ASSERT_TRUE(store_->finish(claim_of(**c), Outcome{}, 100).ok());
  auto n = store_->purge(50);  // finished at 100: kept
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  n = store_->purge(101);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  auto g = store_->get(old_done);
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->has_value());
  auto runs = store_->runs(old_done);
  ASSERT_TRUE(runs.ok());
  EXPECT_TRUE(runs->empty());
  g = store_->get(queued);  // unfinished jobs are never purged
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->has_value());
}

TEST_F(JobStoreTest, BatchJobsCountsAndCancel) {
  BatchRecord b;
  b.id = "batch_1";
  b.input_file_id = "file-1";
  b.endpoint = "/v1/chat/completions";
  b.completion_window = "24h";
  b.created_ms = 5;
  std::vector<NewJob> jobs(3, job());
  for (size_t i = 0; i < jobs.size(); ++i) jobs[i].custom_id = "r" + std::to_string(i);
  auto ids = store_->enqueue(jobs, 5, &b);
  ASSERT_TRUE(ids.ok());
  auto c = store_->claim("a", 10, 1000);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->custom_id, "r0");
  ASSERT_TRUE(store_->finish(claim_of(**c), Outcome{}, 20).ok());
  auto counts = store_->batch_counts("batch_1");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->total, 3);
  EXPECT_EQ(counts->succeeded, 1);
  EXPECT_EQ(counts->queued, 2);
  auto cancelled = store_->cancel_batch("batch_1", 30);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->size(), 2u);
  auto b2 = store_->get_batch("batch_1");
  ASSERT_TRUE(b2.ok() && b2->has_value());
  EXPECT_EQ((*b2)->cancelled_ms, 30);
  auto all = store_->batch_jobs("batch_1");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].custom_id, "r0");
  EXPECT_EQ((*all)[2].status, JobStatus::kCancelled);
}

TEST_F(JobStoreTest, UndeliveredWebhooksAreListedUntilDeliveredOrGivenUp) {
  NewJob with_hook = job();
  with_hook.webhook_url = "http://127.0.0.1:9/h";
  const std::string id = enqueue1(with_hook, 0);
  enqueue1(job(-1), 0);  // no webhook
  auto pending = store_->undelivered_webhooks(10);
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());  // not finished yet
  auto c = store_->claim("a", 1, 1000);
  ASSERT_TRUE(c.ok() && c->has_value());
  ASSERT_TRUE(store_->finish(claim_of(**c), Outcome{}, 2).ok());
  pending = store_->undelivered_webhooks(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, id);
  ASSERT_TRUE(store_->set_webhook_state(id, "retrying", 2).ok());
  pending = store_->undelivered_webhooks(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].webhook_attempts, 2);
  ASSERT_TRUE(store_->set_webhook_state(id, "delivered", 3).ok());
  pending = store_->undelivered_webhooks(10);
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

TEST_F(JobStoreTest, FilesRoundTrip) {
  FileRecord f{"file-x", "batch", "in.jsonl", 5, 7};
  ASSERT_TRUE(store_->put_file(f, "hello").ok());
  std::string content;
  auto g = store_->get_file("file-x", &content);
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ(content, "hello");
  EXPECT_EQ((*g)->filename, "in.jsonl");
  EXPECT_FALSE(store_->put_file(f, "again").ok());  // ids are unique
}

TEST_F(JobStoreTest, ResponsesPutGetDelete) {
  ASSERT_TRUE(store_->put_response("resp_1", R"({"output":[]})", 9).ok());
  auto g = store_->get_response("resp_1");
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ(**g, R"({"output":[]})");
  EXPECT_FALSE(store_->put_response("resp_1", "again", 10).ok());  // ids are unique
  auto missing = store_->get_response("resp_2");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto d = store_->delete_response("resp_1");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(*d);
  auto again = store_->delete_response("resp_1");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto gone = store_->get_response("resp_1");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(JobStoreTest, DataSurvivesReopen) {
  const std::string id = enqueue1(job(), 0);
  store_.reset();
  auto s = open_job_store((dir_ / "jobs.db").string());
  ASSERT_TRUE(s.ok());
  store_ = std::move(*s);
  auto c = store_->claim("a", 10, 1000);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->id, id);
}

// Two stores (two servers) on one SQLite file, claiming concurrently: every job exactly once.
TEST_F(JobStoreTest, TwoStoresNeverClaimTheSameJob) {
  std::vector<NewJob> jobs(200, job());
  ASSERT_TRUE(store_->enqueue(jobs, 0).ok());
  auto other = open_job_store((dir_ / "jobs.db").string());
  ASSERT_TRUE(other.ok());
  std::vector<std::string> got_a, got_b;
  auto drain = [](JobStore* s, const char* who, std::vector<std::string>* got) {
    for (;;) {
      auto c = s->claim(who, 10, 60000);
      ASSERT_TRUE(c.ok()) << c.error().message;
      if (!c->has_value()) return;
      got->push_back((*c)->id);
    }
  };
  std::thread ta(drain, store_.get(), "a", &got_a);
  std::thread tb(drain, other->get(), "b", &got_b);
  ta.join();
  tb.join();
  std::set<std::string> all(got_a.begin(), got_a.end());
  all.insert(got_b.begin(), got_b.end());
  EXPECT_EQ(got_a.size() + got_b.size(), 200u);
  EXPECT_EQ(all.size(), 200u);
}

TEST(JobStoreOpen, BadLocationsAreErrors) {
  EXPECT_FALSE(open_job_store("").ok());
  EXPECT_FALSE(open_job_store("/nonexistent-dir/x/jobs.db").ok());
  EXPECT_FALSE(open_job_store("postgresql://127.0.0.1:1/none?connect_timeout=2").ok());
}

}  // namespace
}  // namespace corral::jobs
