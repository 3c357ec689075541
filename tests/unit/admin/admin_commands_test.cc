// admin_commands_test.cc - queue list / show / stats / help and command dispatch, against a
// fake backend over a fixed queue. Actions are in admin_actions_test.cc.
#include "relay/admin/admin_commands.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "queue/queue_id.h"
#include "tests/unit/admin/fake_admin_backend.h"

namespace correo {
namespace {

using test::FakeAdminBackend;
using test::VectorReplyWriter;

class AdminCommands : public ::testing::Test {
 protected:
  void SetUp() override { backend.entries = test::sample_queue(backend.now_us); }

  VectorReplyWriter run(std::vector<std::string> args) {
    VectorReplyWriter out;
    run_admin_command(backend, args, out);
    EXPECT_EQ(out.finals, 1) << "exactly one final line";
    return out;
  }
  std::string id(size_t i) const { return format_queue_id(backend.entries[i].envelope.id); }

  FakeAdminBackend backend;
};

TEST_F(AdminCommands, ListTable) {
  VectorReplyWriter out = run({"queue", "list"});
  ASSERT_TRUE(out.ok_result);
  EXPECT_EQ(out.final_text, "4 messages");
  ASSERT_EQ(out.lines.size(), 5u);
  EXPECT_EQ(out.lines[0],
            "ID             ARRIVAL (UTC)         SIZE        STATE     SENDER                            "
            "PENDING/RCPTS  FIRST PENDING");
  EXPECT_EQ(out.lines[1], id(0) +
                              "  2024-05-04T10:34:56Z       12345  deferred  <alice@example.org>               "
                              "1/2            <bob@example.net>");
  EXPECT_EQ(out.lines[2], id(1) +
                              "  2024-05-04T12:24:56Z         800  active    <>                                "
                              "1/1            <postmaster@Example.NET>");
  EXPECT_EQ(out.lines[3], id(2) +
                              "  2024-05-01T12:34:56Z        4096  held      <mallory@evil.test>               "
                              "1/1            <dave@example.com>");
  // Hostile bytes escaped; UTF-8 kept; "+2" more pending recipients.
  EXPECT_EQ(out.lines[4], id(3) +
                              "  2024-05-04T12:34:26Z          10  active    <evil\\x1b[31m\"x\"@bad.test>        "
                              "3/3            <jos\xc3\xa9@ex\xc3\xa4mple.de> +2");
}

TEST_F(AdminCommands, ListJson) {
  VectorReplyWriter out = run({"queue", "list", "--json"});
  ASSERT_TRUE(out.ok_result);
  EXPECT_EQ(out.final_text, "4 messages");
  ASSERT_EQ(out.lines.size(), 4u);  // no header in JSON mode
  const int64_t a_us = backend.entries[0].envelope.arrival_us;
  EXPECT_EQ(out.lines[0], "{\"id\":\"" + id(0) +
                              "\",\"arrival\":\"2024-05-04T10:34:56.000000Z\",\"arrival_us\":" +
                              std::to_string(a_us) +
                              ",\"size\":12345,\"state\":\"deferred\",\"next_attempt\":\"2024-05-04T12:44:56.000000Z\","
                              "\"sender\":\"alice@example.org\",\"held\":false,\"hold_reason\":\"\",\"recipients\":["
                              "{\"address\":\"bob@example.net\",\"state\":\"pending\",\"attempts\":3,"
                              "\"last_reply\":\"451 4.7.1 try later\"},"
                              "{\"address\":\"carol@example.com\",\"state\":\"delivered\",\"attempts\":1,"
                              "\"last_reply\":\"250 2.0.0 ok\"}]}");
  EXPECT_NE(out.lines[1].find("\"sender\":\"\",\"held\":false"), std::string::npos);
  EXPECT_NE(out.lines[1].find("\"next_attempt\":null"), std::string::npos);
  EXPECT_NE(out.lines[2].find("\"held\":true,\"hold_reason\":\"header_checks: spam\""), std::string::npos);
  EXPECT_NE(out.lines[3].find("\"sender\":\"evil\\u001b[31m\\\"x\\\"@bad.test\""), std::string::npos);
  EXPECT_NE(out.lines[3].find("\"address\":\"x@y.test\\u000a\""), std::string::npos);
  EXPECT_NE(out.lines[3].find("jos\xc3\xa9@ex\xc3\xa4mple.de"), std::string::npos);
  for (const std::string& line : out.lines) {
    EXPECT_EQ(line.front(), '{');
    EXPECT_EQ(line.back(), '}');
    EXPECT_EQ(line.find('\n'), std::string::npos);
  }
}

// ids_listed - the ids of a --json listing, in order.
std::vector<std::string> ids_listed(const VectorReplyWriter& out) {
  std::vector<std::string> ids;
  for (const std::string& line : out.lines) ids.push_back(line.substr(7, 13));  // {"id":"XXXXXXXXXXXXX"
  return ids;
}

TEST_F(AdminCommands, ListFilters) {
  // --domain: a PENDING recipient's domain, case-insensitive (carol@example.com is delivered).
  EXPECT_EQ(ids_listed(run({"queue", "list", "--json", "--domain", "EXAMPLE.net"})),
            (std::vector<std::string>{id(0), id(1)}));
  EXPECT_EQ(ids_listed(run({"queue", "list", "--json", "--domain=example.com"})), (std::vector<std::string>{id(2)}));
  EXPECT_EQ(ids_listed(run({"queue", "list", "--json", "--sender", "<>"})), (std::vector<std::string>{id(1)}));
  EXPECT_EQ(ids_listed(run({"queue", "list", "--json", "--sender", "<Alice@Example.org>"})),
            (std::vector<std::string>{id(0)}));
  EXPECT_EQ(ids_listed(run({"queue", "list", "--json", "--state", "held"})), (std::vector<std::string>{id(2)}));
  EXPECT_EQ(ids_listed(run({"queue", "list", "--json", "--state", "active"})),
            (std::vector<std::string>{id(1), id(3)}));
  EXPECT_EQ(ids_listed(run({"queue", "list", "--json", "--min-age", "1h"})),
            (std::vector<std::string>{id(0), id(2)}));
  EXPECT_EQ(ids_listed(run({"queue", "list", "--min-age", "5m", "--json", "--state", "active"})),
            (std::vector<std::string>{id(1)}));
  VectorReplyWriter none = run({"queue", "list", "--domain", "nowhere.test"});
  EXPECT_TRUE(none.ok_result);
  EXPECT_EQ(none.lines.size(), 1u);  // the header only
  EXPECT_EQ(none.final_text, "0 messages");
  EXPECT_EQ(run({"queue", "list", "--state", "held"}).final_text, "1 message");
}

TEST_F(AdminCommands, ListRejectsBadOptions) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"queue", "list", "--state", "frozen"},
           {"queue", "list", "--min-age", "5x"},
           {"queue", "list", "--domain"},
           {"queue", "list", "--domain="},
           {"queue", "list", "--all"},
           {"queue", "list", "--json=yes"},
           {"queue", "list", "--verbose"},
           {"queue", "list", "extra"}}) {
    VectorReplyWriter out = run(args);
    EXPECT_FALSE(out.ok_result) << args.back();
    EXPECT_EQ(out.code, AdminError::kUsage) << args.back();
    EXPECT_TRUE(out.lines.empty());
  }
}

TEST_F(AdminCommands, ListStopsWhenClientGoes) {
  backend.synthetic = 1000;
  VectorReplyWriter out;
  out.data_budget = 3;  // header + 2 rows, then the client is gone
  run_admin_command(backend, {"queue", "list"}, out);
  EXPECT_EQ(out.lines.size(), 4u);  // the refused line was offered, nothing after it
  EXPECT_EQ(out.finals, 0);
}

TEST_F(AdminCommands, ShowText) {
  VectorReplyWriter out = run({"queue", "show", id(0)});
  ASSERT_TRUE(out.ok_result);
  const std::vector<std::string> expected = {
      "id: " + id(0),
      "arrival: 2024-05-04T10:34:56.000000Z",
      "size: 12345",
      "state: deferred",
      "next_attempt: 2024-05-04T12:44:56Z",
      "sender: <alice@example.org>",
      "client_address: 192.0.2.7",
      "helo: mx.example.org",
      "body: 8BITMIME",
      "smtputf8: no",
      "envid: abc123",
      "ret: HDRS",
      "delay_warned: no",
      "held: no",
      "recipients: 2",
      "recipient: <bob@example.net>",
      "  state: pending",
      "  attempts: 3",
      "  notify: FAILURE,DELAY",
      "  orcpt: rfc822;bob@example.net",
      "  last_reply: 451 4.7.1 try later",
      "recipient: <carol@example.com>",
      "  state: delivered",
      "  attempts: 1",
      "  notify: default",
      "  orcpt: -",
      "  last_reply: 250 2.0.0 ok",
  };
  EXPECT_EQ(out.lines, expected);
  VectorReplyWriter held = run({"queue", "show", id(2)});
  EXPECT_NE(std::find(held.lines.begin(), held.lines.end(), "hold_reason: header_checks: spam"), held.lines.end());
}

TEST_F(AdminCommands, ShowJson) {
  VectorReplyWriter out = run({"queue", "show", "--json", id(0)});
  ASSERT_TRUE(out.ok_result);
  ASSERT_EQ(out.lines.size(), 1u);
  const std::string& j = out.lines[0];
  for (const char* part : {"\"client_address\":\"192.0.2.7\"", "\"helo\":\"mx.example.org\"", "\"body\":\"8BITMIME\"",
                           "\"smtputf8\":false", "\"envid\":\"abc123\"", "\"ret\":\"HDRS\"", "\"deliver_by\":null",
                           "\"orcpt\":\"rfc822;bob@example.net\"", "\"notify\":[\"FAILURE\",\"DELAY\"]",
                           "\"orcpt\":\"\",\"notify\":null", "\"hold_reason\":\"\""}) {
    EXPECT_NE(j.find(part), std::string::npos) << part;
  }
}

TEST_F(AdminCommands, ShowErrors) {
  VectorReplyWriter missing = run({"queue", "show", format_queue_id(test::make_id(test::kBaseUs, 9))});
  EXPECT_FALSE(missing.ok_result);
  EXPECT_EQ(missing.code, AdminError::kNotFound);
  EXPECT_EQ(run({"queue", "show", "not-an-id"}).code, AdminError::kUsage);
  EXPECT_EQ(run({"queue", "show"}).code, AdminError::kUsage);
  EXPECT_EQ(run({"queue", "show", id(0), id(1)}).code, AdminError::kUsage);
}

TEST_F(AdminCommands, StatsTextAndJson) {
  VectorReplyWriter out = run({"stats"});
  ASSERT_TRUE(out.ok_result);
  EXPECT_EQ(out.lines, (std::vector<std::string>{"queue_active     2", "queue_deferred   1", "queue_held       1",
                                                 "delivered_total  12345", "load             0.25"}));
  VectorReplyWriter json = run({"stats", "--json"});
  ASSERT_EQ(json.lines.size(), 1u);
  EXPECT_EQ(json.lines[0],
            R"({"queue_active":2,"queue_deferred":1,"queue_held":1,"delivered_total":12345,"load":0.25})");
  EXPECT_EQ(run({"stats", "now"}).code, AdminError::kUsage);
}

TEST_F(AdminCommands, UnknownCommandsAreUsageErrors) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {}, {"queue"}, {"queue", "frobnicate"}, {"list"}, {"QUEUE", "list"}, {"rm", "-rf"}}) {
    VectorReplyWriter out = run(args);
    EXPECT_FALSE(out.ok_result);
    EXPECT_EQ(out.code, AdminError::kUsage);
    EXPECT_NE(out.final_text.find("commands:"), std::string::npos) << out.final_text;
  }
  EXPECT_TRUE(backend.acted.empty());
}

TEST_F(AdminCommands, Help) {
  VectorReplyWriter out = run({"help"});
  EXPECT_TRUE(out.ok_result);
  ASSERT_GE(out.lines.size(), 5u);
  EXPECT_EQ(out.lines[0].rfind("queue list", 0), 0u);
}

TEST(AdminCommandName, CanonicalNames) {
  EXPECT_EQ(admin_command_name({"queue", "list", "--json"}), "queue list");
  EXPECT_EQ(admin_command_name({"queue", "show", "X"}), "queue show");
  EXPECT_EQ(admin_command_name({"flush"}), "queue flush");
  EXPECT_EQ(admin_command_name({"queue", "flush", "example.net"}), "queue flush");
  EXPECT_EQ(admin_command_name({"hold", "X"}), "queue hold");
  EXPECT_EQ(admin_command_name({"queue", "release"}), "queue release");
  EXPECT_EQ(admin_command_name({"delete"}), "queue delete");
  EXPECT_EQ(admin_command_name({"queue", "bounce"}), "queue bounce");
  EXPECT_EQ(admin_command_name({"stats", "--json"}), "stats");
  EXPECT_EQ(admin_command_name({"help"}), "help");
  EXPECT_EQ(admin_command_name({}), "unknown");
  EXPECT_EQ(admin_command_name({"queue"}), "unknown");
  EXPECT_EQ(admin_command_name({"queue", "stats"}), "unknown");
  EXPECT_EQ(admin_command_name({"shutdown"}), "unknown");
}

}  // namespace
}  // namespace correo
