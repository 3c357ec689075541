// spool_ops_test.cc - the scheduler's view of the spool: due scan, load, update, remove,
// and bounces committed atomically with their original.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "queue/spool.h"

namespace correo {
namespace {

class SpoolOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/correo-spool-ops-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    SpoolOptions o;
    o.dir = dir_ + "/queue";
    o.workers = 1;
    auto s = Spool::open(o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    spool_ = std::move(s.value());
    spool_->start();
  }
  void TearDown() override {
    spool_.reset();
    std::filesystem::remove_all(dir_);
  }
  // commit - submit on a channel and wait for its completion.
  CommitStatus commit(unsigned channel, CommitRequest& r) {
    EXPECT_TRUE(spool_->submit(channel, r));
    CommitCompletion c;
    for (int i = 0; i < 5000 && !spool_->pop_completion(channel, c); ++i) usleep(1000);
    return c.status;
  }
  static Envelope envelope(uint64_t id) {
    Envelope e;
    e.id = id;
    e.sender = "s@a.test";
    e.recipients.push_back(Recipient{"r@b.test"});
    return e;
  }
  std::string dir_;
  std::unique_ptr<Spool> spool_;
};

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST_F(SpoolOpsTest, StoreUpdateRemoveWithBounce) {
  const unsigned sched = spool_->scheduler_channel();
  EXPECT_EQ(sched, 1u);
  CommitRequest store;
  store.envelope = envelope(100);
  store.body = "Subject: x\r\n\r\nbody\r\n";
  ASSERT_EQ(commit(0, store), CommitStatus::kOk);

  auto none = [](uint64_t) { return false; };
  std::vector<DueEntry> due = spool_->due(now_us(), 10, none);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, 100u);
  EXPECT_TRUE(spool_->due(now_us(), 10, [](uint64_t id) { return id == 100; }).empty());  // skip works

  StoredMessage m;
  ASSERT_TRUE(spool_->load(100, m));
  EXPECT_EQ(m.body, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_FALSE(spool_->load(999, m));

  // Defer: the entry moves to the future and the recipient state is rewritten.
  CommitRequest update;
  update.op = CommitOp::kUpdate;
  update.envelope = m.envelope;
  update.envelope.recipients[0].attempts = 1;
  update.envelope.recipients[0].last_reply = "451 4.3.0 try later";
  update.old_due_us = due[0].due_us;
  update.new_due_us = now_us() + 60'000'000;
  ASSERT_EQ(commit(sched, update), CommitStatus::kOk);
  EXPECT_TRUE(spool_->due(now_us(), 10, none).empty());
  due = spool_->due(now_us() + 120'000'000, 10, none);
  ASSERT_EQ(due.size(), 1u);
  ASSERT_TRUE(spool_->load(100, m));
  EXPECT_EQ(m.envelope.recipients[0].attempts, 1u);

  // Done with a failure: the original goes and its bounce arrives in the same batch.
  CommitRequest remove;
  remove.op = CommitOp::kRemove;
  remove.envelope = m.envelope;
  remove.old_due_us = due[0].due_us;
  StoredMessage bounce;
  bounce.envelope = envelope(200);
  bounce.envelope.sender = "";
  bounce.body = "DSN\r\n";
  remove.add.push_back(bounce);
  ASSERT_EQ(commit(sched, remove), CommitStatus::kOk);
  EXPECT_FALSE(spool_->load(100, m));
  ASSERT_TRUE(spool_->load(200, m));
  EXPECT_EQ(m.body, "DSN\r\n");
  due = spool_->due(now_us(), 10, none);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, 200u);
}

}  // namespace
}  // namespace correo
