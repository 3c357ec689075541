// admin_actions_test.cc - hold/release/delete/bounce by id and by filter, flush, and the
// safety rules (no selection = refuse, ids and filters do not mix, bounded selection).
#include <gtest/gtest.h>

#include "queue/queue_id.h"
#include "relay/admin/admin_commands.h"
#include "tests/unit/admin/fake_admin_backend.h"

namespace correo {
namespace {

using test::FakeAdminBackend;
using test::VectorReplyWriter;

class AdminActions : public ::testing::Test {
 protected:
  void SetUp() override {
    backend.entries = test::sample_queue(backend.now_us);
    for (const QueueEntry& e : backend.entries) ids.push_back(e.envelope.id);
  }

  VectorReplyWriter run(std::vector<std::string> args) {
    VectorReplyWriter out;
    run_admin_command(backend, args, out);
    EXPECT_EQ(out.finals, 1) << "exactly one final line";
    return out;
  }
  std::string id(size_t i) const { return format_queue_id(ids[i]); }
  std::vector<uint64_t> acted_ids() const {
    std::vector<uint64_t> out;
    for (const auto& a : backend.acted) out.push_back(a.second);
    return out;
  }

  FakeAdminBackend backend;
  std::vector<uint64_t> ids;
};

TEST_F(AdminActions, HoldById) {
  VectorReplyWriter out = run({"queue", "hold", id(0)});
  ASSERT_TRUE(out.ok_result) << out.final_text;
  EXPECT_EQ(out.lines, (std::vector<std::string>{id(0) + " done held"}));
  EXPECT_EQ(out.final_text, "hold: 1 done, 0 pending, 0 skipped, 0 failed");
  ASSERT_EQ(backend.acted.size(), 1u);
  EXPECT_EQ(backend.acted[0].first, AdminAction::kHold);
  EXPECT_EQ(backend.acted[0].second, ids[0]);
}

TEST_F(AdminActions, TopLevelAliasesMatchQueueForms) {
  const std::pair<const char*, AdminAction> forms[] = {{"hold", AdminAction::kHold},
                                                       {"release", AdminAction::kRelease},
                                                       {"delete", AdminAction::kDelete},
                                                       {"bounce", AdminAction::kBounce}};
  for (const auto& [word, action] : forms) {
    backend.acted.clear();
    run({word, id(1)});
    run({"queue", word, id(1)});
    ASSERT_EQ(backend.acted.size(), 2u) << word;
    EXPECT_EQ(backend.acted[0].first, action);
    EXPECT_EQ(backend.acted[1].first, action);
  }
}

TEST_F(AdminActions, SeveralIdsWithOneUnknownFails) {
  const std::string unknown = format_queue_id(test::make_id(test::kBaseUs, 9));
  VectorReplyWriter out = run({"delete", id(0), unknown, id(3)});
  EXPECT_FALSE(out.ok_result);
  EXPECT_EQ(out.code, AdminError::kNotFound);  // exit 1: the operator named it
  EXPECT_EQ(out.final_text, "delete: 2 done, 0 pending, 0 skipped, 1 failed");
  EXPECT_EQ(out.lines, (std::vector<std::string>{id(0) + " done deleted", unknown + " not_found no such message",
                                                 id(3) + " done deleted"}));
  EXPECT_EQ(backend.entries.size(), 2u);
}

TEST_F(AdminActions, NotApplicableIsSkippedNotFailed) {
  VectorReplyWriter out = run({"release", id(0)});  // not held
  EXPECT_TRUE(out.ok_result);
  EXPECT_EQ(out.lines, (std::vector<std::string>{id(0) + " not_applicable not held"}));
  EXPECT_EQ(out.final_text, "release: 0 done, 0 pending, 1 skipped, 0 failed");
}

TEST_F(AdminActions, PendingBusyAndFailedResults) {
  backend.scripted[ids[0]] = {ActionResult::kPending, "in delivery; applied when the attempt ends"};
  backend.scripted[ids[1]] = {ActionResult::kBusy, "admin queue full"};
  VectorReplyWriter busy = run({"hold", id(0), id(1)});
  EXPECT_EQ(busy.code, AdminError::kBusy);
  EXPECT_EQ(busy.final_text, "hold: 0 done, 1 pending, 0 skipped, 1 failed");
  EXPECT_EQ(busy.lines[0], id(0) + " pending in delivery; applied when the attempt ends");

  backend.scripted[ids[2]] = {ActionResult::kFailed, "spool write: No space left on device"};
  VectorReplyWriter mixed = run({"hold", id(1), id(2)});
  EXPECT_EQ(mixed.code, AdminError::kFailed);  // mixed failure kinds
  EXPECT_EQ(mixed.lines[1], id(2) + " failed spool write: No space left on device");

  VectorReplyWriter pending_only = run({"hold", id(0)});
  EXPECT_TRUE(pending_only.ok_result);
}

TEST_F(AdminActions, InvalidIdActsOnNothing) {
  VectorReplyWriter out = run({"hold", id(0), "0123"});
  EXPECT_FALSE(out.ok_result);
  EXPECT_EQ(out.code, AdminError::kUsage);
  EXPECT_NE(out.final_text.find("invalid queue id 0123"), std::string::npos);
  EXPECT_TRUE(backend.acted.empty());
}

TEST_F(AdminActions, NoSelectionIsRefused) {
  for (const char* action : {"hold", "release", "delete", "bounce"}) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{action}, std::vector<std::string>{"queue", action}}) {
      VectorReplyWriter out = run(args);
      EXPECT_FALSE(out.ok_result);
      EXPECT_EQ(out.code, AdminError::kUsage);
      EXPECT_NE(out.final_text.find("refusing"), std::string::npos) << out.final_text;
    }
  }
  EXPECT_TRUE(backend.acted.empty());
  EXPECT_EQ(backend.entries.size(), 4u);
}

TEST_F(AdminActions, IdsAndFiltersDoNotMix) {
  EXPECT_EQ(run({"delete", id(0), "--domain", "example.net"}).code, AdminError::kUsage);
  EXPECT_EQ(run({"delete", "--all", id(0)}).code, AdminError::kUsage);
  EXPECT_EQ(run({"delete", "--json", id(0)}).code, AdminError::kUsage);  // not an action option
  EXPECT_EQ(run({"delete", "--state", "gone"}).code, AdminError::kUsage);
  EXPECT_TRUE(backend.acted.empty());
}

TEST_F(AdminActions, ByFilter) {
  VectorReplyWriter out = run({"queue", "release", "--state", "held"});
  ASSERT_TRUE(out.ok_result);
  EXPECT_EQ(acted_ids(), (std::vector<uint64_t>{ids[2]}));
  EXPECT_EQ(out.lines, (std::vector<std::string>{id(2) + " done released"}));

  backend.acted.clear();
  out = run({"hold", "--domain", "example.net", "--min-age", "1h"});
  EXPECT_EQ(acted_ids(), (std::vector<uint64_t>{ids[0]}));

  backend.acted.clear();
  out = run({"bounce", "--sender", "<>"});
  EXPECT_EQ(acted_ids(), (std::vector<uint64_t>{ids[1]}));
  EXPECT_EQ(out.final_text, "bounce: 1 done, 0 pending, 0 skipped, 0 failed");
}

TEST_F(AdminActions, NoMatchIsFine) {
  VectorReplyWriter out = run({"delete", "--domain", "nowhere.test"});
  EXPECT_TRUE(out.ok_result);
  EXPECT_TRUE(out.lines.empty());
  EXPECT_EQ(out.final_text, "delete: 0 done, 0 pending, 0 skipped, 0 failed");
}

TEST_F(AdminActions, AllMeansEverythingAndNarrowsWithFilters) {
  VectorReplyWriter some = run({"hold", "--all", "--state", "active"});
  EXPECT_EQ(acted_ids(), (std::vector<uint64_t>{ids[1], ids[3]}));
  backend.acted.clear();
  VectorReplyWriter all = run({"delete", "--all"});
  EXPECT_TRUE(all.ok_result);
  EXPECT_EQ(acted_ids(), ids);
  EXPECT_TRUE(backend.entries.empty());
}

TEST_F(AdminActions, FilterSelectedMessageThatLeftIsSkipped) {
  backend.scripted[ids[1]] = {ActionResult::kNotFound, "no such message"};
  VectorReplyWriter out = run({"delete", "--all"});
  EXPECT_TRUE(out.ok_result) << out.final_text;
  EXPECT_EQ(out.final_text, "delete: 3 done, 0 pending, 1 skipped, 0 failed");
}

TEST_F(AdminActions, SelectionIsBounded) {
  backend.entries.clear();
  backend.synthetic = kMaxAdminSelection + 1;
  VectorReplyWriter out = run({"delete", "--all"});
  EXPECT_FALSE(out.ok_result);
  EXPECT_EQ(out.code, AdminError::kUsage);
  EXPECT_NE(out.final_text.find("narrow the filter"), std::string::npos);
  EXPECT_TRUE(backend.acted.empty());

  backend.synthetic = kMaxAdminSelection;  // exactly the bound: allowed
  VectorReplyWriter at_bound = run({"hold", "--sender", "bulk@example.org"});
  EXPECT_EQ(backend.acted.size(), kMaxAdminSelection);
  // The fake cannot act on made-up messages: "gone meanwhile", which a filter run skips.
  EXPECT_TRUE(at_bound.ok_result);
  EXPECT_EQ(at_bound.final_text, "hold: 0 done, 0 pending, 100000 skipped, 0 failed");
}

TEST_F(AdminActions, StopsActingWhenClientGoes) {
  VectorReplyWriter out;
  out.data_budget = 1;
  run_admin_command(backend, {"delete", "--all"}, out);
  EXPECT_EQ(backend.acted.size(), 2u);  // the second result could not be shown: stop there
  EXPECT_EQ(out.finals, 0);
}

TEST_F(AdminActions, Flush) {
  VectorReplyWriter all = run({"flush"});
  ASSERT_TRUE(all.ok_result);
  EXPECT_EQ(all.final_text, "flush: done (3 messages due now)");
  VectorReplyWriter one = run({"queue", "flush", "example.net"});
  EXPECT_TRUE(one.ok_result);
  EXPECT_EQ(one.final_text, "flush example.net: done (3 messages due now)");
  EXPECT_EQ(backend.flushed, (std::vector<std::string>{"", "example.net"}));

  EXPECT_EQ(run({"flush", "a.test", "b.test"}).code, AdminError::kUsage);
  EXPECT_EQ(run({"flush", "--domain", "a.test"}).code, AdminError::kUsage);
  backend.flush_reply = {ActionResult::kBusy, "scheduler busy"};
  VectorReplyWriter busy = run({"flush"});
  EXPECT_EQ(busy.code, AdminError::kBusy);
  EXPECT_EQ(backend.flushed.size(), 3u);
}

}  // namespace
}  // namespace correo
