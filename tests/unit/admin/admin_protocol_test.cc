// admin_protocol_test.cc - request and reply line encoding, including hostile input.
#include "relay/admin/admin_protocol.h"

#include <gtest/gtest.h>

#include "relay/admin/admin_backend.h"

namespace correo {
namespace {

TEST(AdminProtocol, EncodesWordsTabSeparated) {
  Result<std::string> r = encode_admin_request({"queue", "list", "--domain", "example.net"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "correoctl/1\tqueue\tlist\t--domain\texample.net\n");
}

TEST(AdminProtocol, RoundTripKeepsSpacesEmptyWordsAndUtf8) {
  const std::vector<std::string> words = {"queue", "", "a b", "jos\xc3\xa9@ex\xc3\xa4mple.de", "<>"};
  Result<std::string> line = encode_admin_request(words);
  ASSERT_TRUE(line.ok());
  Result<std::vector<std::string>> back = decode_admin_request(*line);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, words);
}

TEST(AdminProtocol, NoWordsDecodesToEmpty) {
  Result<std::vector<std::string>> r = decode_admin_request("correoctl/1\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(AdminProtocol, EncodeRejectsForbiddenBytes) {
  for (const std::string bad : {std::string("a\tb"), std::string("a\rb"), std::string("a\nb"), std::string("a\0b", 3)}) {
    EXPECT_FALSE(encode_admin_request({"queue", bad}).ok());
  }
}

TEST(AdminProtocol, EncodeRejectsOversize) {
  std::vector<std::string> words(2000, "0123456789ABC");  // ~28 KB
  Result<std::string> r = encode_admin_request(words);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too long"), std::string::npos);
}

TEST(AdminProtocol, EncodeAcceptsExactlyTheLimit) {
  // tag (11) + TAB (1) + word + "\n" (1) = 4096
  const std::string word(kMaxAdminRequest - kAdminProtocolTag.size() - 2, 'x');
  Result<std::string> r = encode_admin_request({word});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), kMaxAdminRequest);
  EXPECT_TRUE(decode_admin_request(*r).ok());
  EXPECT_FALSE(encode_admin_request({word + "x"}).ok());
}

TEST(AdminProtocol, DecodeRejectsHostileInput) {
  EXPECT_FALSE(decode_admin_request("").ok());
  EXPECT_FALSE(decode_admin_request("correoctl/1\tstats").ok());         // no newline
  EXPECT_FALSE(decode_admin_request("correoctl/2\tstats\n").ok());       // other version
  EXPECT_FALSE(decode_admin_request("CORREOCTL/1\tstats\n").ok());       // tag is exact
  EXPECT_FALSE(decode_admin_request("stats\n").ok());                    // no tag
  EXPECT_FALSE(decode_admin_request("correoctl/1\tstats\r\n").ok());     // CR
  EXPECT_FALSE(decode_admin_request(std::string("correoctl/1\tst\0ats\n", 19)).ok());  // NUL
  EXPECT_FALSE(decode_admin_request("correoctl/1\tqueue\nlist\n").ok()); // two lines
  std::string big = "correoctl/1\t" + std::string(kMaxAdminRequest, 'a') + "\n";
  EXPECT_FALSE(decode_admin_request(big).ok());
}

TEST(AdminProtocol, ReplyLinesRoundTrip) {
  EXPECT_EQ(encode_data_line("hello world"), "D hello world\n");
  EXPECT_EQ(encode_ok_line("4 messages"), "OK 4 messages\n");
  EXPECT_EQ(encode_ok_line(""), "OK\n");
  EXPECT_EQ(encode_err_line(AdminError::kNotFound, "no message X"), "ERR not_found no message X\n");

  std::optional<ReplyLine> d = parse_reply_line("D  two spaces kept");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, ReplyLine::Kind::kData);
  EXPECT_EQ(d->text, " two spaces kept");
  std::optional<ReplyLine> empty_data = parse_reply_line("D ");
  ASSERT_TRUE(empty_data);
  EXPECT_EQ(empty_data->text, "");
  std::optional<ReplyLine> ok = parse_reply_line("OK");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->kind, ReplyLine::Kind::kOk);
  EXPECT_EQ(ok->text, "");
  std::optional<ReplyLine> err = parse_reply_line("ERR usage unknown command");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->kind, ReplyLine::Kind::kErr);
  EXPECT_EQ(err->code, AdminError::kUsage);
  EXPECT_EQ(err->text, "unknown command");
}

TEST(AdminProtocol, ReplyTextCannotSplitALine) {
  EXPECT_EQ(encode_data_line(std::string_view("a\nD forged\r\0x", 13)), "D a D forged  x\n");
  EXPECT_EQ(encode_ok_line("a\nb"), "OK a b\n");
  EXPECT_EQ(encode_err_line(AdminError::kFailed, "x\ny"), "ERR failed x y\n");
}

TEST(AdminProtocol, ParseRejectsGarbageAndKeepsUnknownCodes) {
  EXPECT_FALSE(parse_reply_line(""));
  EXPECT_FALSE(parse_reply_line("hello"));
  EXPECT_FALSE(parse_reply_line("OKAY"));
  EXPECT_FALSE(parse_reply_line("ERR"));
  EXPECT_FALSE(parse_reply_line("ERR "));
  EXPECT_FALSE(parse_reply_line("Dx"));
  std::optional<ReplyLine> future = parse_reply_line("ERR quota_exceeded too many");
  ASSERT_TRUE(future);
  EXPECT_EQ(future->code, AdminError::kFailed);
  EXPECT_EQ(future->text, "quota_exceeded: too many");
}

TEST(AdminProtocol, ExitCodes) {
  EXPECT_EQ(exit_code_for(AdminError::kUsage), 2);
  EXPECT_EQ(exit_code_for(AdminError::kNotFound), 1);
  EXPECT_EQ(exit_code_for(AdminError::kNotApplicable), 1);
  EXPECT_EQ(exit_code_for(AdminError::kBusy), 1);
  EXPECT_EQ(exit_code_for(AdminError::kFailed), 1);
  EXPECT_EQ(exit_code_for(AdminError::kProtocol), 3);
  for (AdminError e : {AdminError::kUsage, AdminError::kNotFound, AdminError::kNotApplicable, AdminError::kBusy,
                       AdminError::kFailed, AdminError::kProtocol}) {
    EXPECT_EQ(parse_admin_error(to_string(e)), e);
  }
  EXPECT_FALSE(parse_admin_error("USAGE"));
}

TEST(AdminProtocol, BackendNames) {
  EXPECT_EQ(to_string(QueueState::kActive), "active");
  EXPECT_EQ(to_string(QueueState::kDeferred), "deferred");
  EXPECT_EQ(to_string(QueueState::kHeld), "held");
  EXPECT_EQ(parse_queue_state("Held"), QueueState::kHeld);
  EXPECT_EQ(parse_queue_state("deferred"), QueueState::kDeferred);
  EXPECT_FALSE(parse_queue_state("frozen"));
  EXPECT_EQ(to_string(AdminAction::kBounce), "bounce");
  EXPECT_EQ(to_string(ActionResult::kNotApplicable), "not_applicable");
  EXPECT_EQ(to_string(ActionResult::kPending), "pending");
}

}  // namespace
}  // namespace correo
