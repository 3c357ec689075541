// milter_protocol_test.cc - the milter packet codec: golden bytes, round trips for every
// command and reply, framing across reads, and refusal of malformed or oversized packets.
#include "relay/policy/milter/milter_protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace correo {
namespace {

using namespace std::string_literals;

MilterPacket one_packet(const std::string& bytes) {
  MilterPacketReader reader(1 << 20);
  reader.feed(bytes);
  auto p = reader.next();
  EXPECT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ(reader.buffered(), 0u);
  return p.ok() && p->has_value() ? **p : MilterPacket{};
}

MilterCommandPacket command_of(const std::string& bytes) {
  auto c = decode_command(one_packet(bytes));
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : MilterCommandPacket{};
}

TEST(MilterProtocol, GoldenBytes) {
  std::string out;
  encode_optneg(out, 6, 0x1ff, 0x1fffff);
  EXPECT_EQ(out, "\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff"s);
  out.clear();
  encode_connect(out, "mx.example", '4', 25, "192.0.2.1");
  EXPECT_EQ(out, "\0\0\0\x19" "Cmx.example\0" "4\0\x19" "192.0.2.1\0"s);
  out.clear();
  encode_header(out, "Subject", "hi");
  EXPECT_EQ(out, "\0\0\0\x0cLSubject\0hi\0"s);
  out.clear();
  encode_quit(out);
  EXPECT_EQ(out, "\0\0\0\x01Q"s);
}

TEST(MilterProtocol, CommandRoundTrips) {
  std::string out;
  encode_optneg(out, 6, 0x1ff, 0x100000);
  auto c = command_of(out);
  EXPECT_EQ(c.command, 'O');
  EXPECT_EQ(c.version, 6u);
  EXPECT_EQ(c.actions, 0x1ffu);
  EXPECT_EQ(c.protocol, 0x100000u);

  out.clear();
  const std::vector<MilterMacro> macros{{"j", "mx.example"}, {"{client_addr}", "192.0.2.1"}, {"empty", ""}};
  encode_macros(out, 'C', macros);
  c = command_of(out);
  EXPECT_EQ(c.macro_stage, 'C');
  EXPECT_EQ(c.strings, (std::vector<std::string>{"j", "mx.example", "{client_addr}", "192.0.2.1", "empty", ""}));

  out.clear();
  encode_connect(out, "host6", '6', 65535, "2001:db8::1");
  c = command_of(out);
  EXPECT_EQ(c.family, '6');
  EXPECT_EQ(c.port, 65535);
  EXPECT_EQ(c.strings, (std::vector<std::string>{"host6", "2001:db8::1"}));

  out.clear();
  encode_connect(out, "[unknown]", 'U', 0, "");
  EXPECT_EQ(out, "\0\0\0\x0c" "C[unknown]\0U"s);
  c = command_of(out);
  EXPECT_EQ(c.family, 'U');

  out.clear();
  encode_helo(out, "client.example");
  EXPECT_EQ(command_of(out).strings, std::vector<std::string>{"client.example"});

  const std::vector<std::string> mail{"<a@example.test>", "SIZE=100", "BODY=8BITMIME"};
  out.clear();
  encode_mail(out, mail);
  c = command_of(out);
  EXPECT_EQ(c.command, 'M');
  EXPECT_EQ(c.strings, mail);

  out.clear();
  encode_rcpt(out, std::vector<std::string>{"<b@example.org>"});
  c = command_of(out);
  EXPECT_EQ(c.command, 'R');
  EXPECT_EQ(c.strings, std::vector<std::string>{"<b@example.org>"});

  out.clear();
  encode_header(out, "Subject", "a\n b");
  c = command_of(out);
  EXPECT_EQ(c.strings, (std::vector<std::string>{"Subject", "a\n b"}));

  const std::string chunk(kMilterChunkSize, 'x');
  out.clear();
  encode_body(out, chunk);
  c = command_of(out);
  EXPECT_EQ(c.command, 'B');
  EXPECT_EQ(c.body, chunk);

  for (auto [encode, cmd] : std::vector<std::pair<void (*)(std::string&), char>>{
           {encode_data, 'T'}, {encode_eoh, 'N'}, {encode_end_of_body, 'E'}, {encode_abort, 'A'}, {encode_quit, 'Q'}}) {
    out.clear();
    encode(out);
    EXPECT_EQ(out.size(), 5u);
    EXPECT_EQ(command_of(out).command, cmd);
  }
}

// A NUL inside a string would shift every later field on the milter's side.
TEST(MilterProtocol, EmbeddedNulIsCut) {
  std::string out;
  encode_helo(out, "evil\0injected"s);
  EXPECT_EQ(out, "\0\0\0\x06Hevil\0"s);
}

TEST(MilterProtocol, ReplyRoundTrips) {
  std::vector<MilterReply> replies;
  for (char t : std::string("cartdps4f")) {
    MilterReply r;
    r.type = static_cast<MilterReplyType>(t);
    replies.push_back(r);
  }
  MilterReply o;
  o.type = MilterReplyType::kOptneg;
  o.version = 6;
  o.actions = kSmfifAddHeaders | kSmfifChangeHeaders;
  o.protocol = kSmfipNrHeader | kSmfipHeaderLeadingSpace;
  replies.push_back(o);
  auto text = [&](MilterReplyType t, std::string s, std::string args = {}) {
    MilterReply r;
    r.type = t;
    r.text = std::move(s);
    r.args = std::move(args);
    replies.push_back(r);
  };
  text(MilterReplyType::kReplyCode, "550 5.7.1 Rejected by policy");
  text(MilterReplyType::kQuarantine, "looks odd");
  text(MilterReplyType::kAddRcpt, "<new@example.org>");
  text(MilterReplyType::kDelRcpt, "<old@example.org>");
  text(MilterReplyType::kAddRcptWithArgs, "<c@example.org>", "NOTIFY=NEVER");
  text(MilterReplyType::kAddRcptWithArgs, "<d@example.org>");
  text(MilterReplyType::kChangeFrom, "<bounce@example.test>", "SIZE=10");
  text(MilterReplyType::kReplaceBody, "new body\r\nwith \0 NUL\r\n"s);
  auto header = [&](MilterReplyType t, uint32_t index, std::string name, std::string value) {
    MilterReply r;
    r.type = t;
    r.index = index;
    r.name = std::move(name);
    r.value = std::move(value);
    replies.push_back(r);
  };
  header(MilterReplyType::kAddHeader, 0, "X-Spam", "no");
  header(MilterReplyType::kInsertHeader, 1, "DKIM-Signature", "v=1;\n\tb=abc");
  header(MilterReplyType::kChangeHeader, 2, "Subject", "");
  for (const auto& r : replies) {
    std::string out;
    encode_reply(out, r);
    auto d = decode_reply(one_packet(out));
    ASSERT_TRUE(d.ok()) << to_string(r.type) << ": " << d.error().message;
    EXPECT_EQ(d->type, r.type);
    EXPECT_EQ(d->version, r.version);
    EXPECT_EQ(d->actions, r.actions);
    EXPECT_EQ(d->protocol, r.protocol);
    EXPECT_EQ(d->index, r.index);
    EXPECT_EQ(d->name, r.name);
    EXPECT_EQ(d->value, r.value);
    EXPECT_EQ(d->text, r.text);
    EXPECT_EQ(d->args, r.args);
  }
}

TEST(MilterProtocol, OptnegReplyMayCarrySymbolLists) {
  const std::string data = "\0\0\0\x06\0\0\0\x01\0\0\0\0\0\0\0\x01{auth_authen}\0"s;
  auto d = decode_reply(MilterPacket{'O', data});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->version, 6u);
  EXPECT_EQ(d->actions, 1u);
}

TEST(MilterProtocol, MalformedRepliesAreRefused) {
  const std::vector<MilterPacket> bad{
      {'c', "x"},                     // decisions carry no data
      {'p', "x"},
      {'y', "550 no terminator"},     // missing NUL
      {'y', "550 a\0extra\0"s},       // two strings where one belongs
      {'h', "X-Name\0"s},             // value missing
      {'h', "X-Name\0v"s},            // value not terminated
      {'i', "\0\0\0"s},               // short index
      {'m', "\0\0\0\x01Subject\0"s},  // value missing
      {'2', "a\0b\0c\0"s},            // at most address and parameters
      {'O', "\0\0\0\x06"s},           // short negotiation
      {'Z', ""},                      // unknown reply
  };
  for (const auto& p : bad) EXPECT_FALSE(decode_reply(p).ok()) << p.command << " " << p.data;
}

TEST(MilterProtocol, ReaderReassemblesAcrossEveryBoundary) {
  std::string stream;
  MilterReply c, a;
  c.type = MilterReplyType::kContinue;
  a.type = MilterReplyType::kAccept;
  encode_reply(stream, c);
  MilterReply h;
  h.type = MilterReplyType::kAddHeader;
  h.name = "X-A";
  h.value = "1";
  encode_reply(stream, h);
  encode_reply(stream, a);
  for (size_t step = 1; step <= stream.size(); ++step) {
    MilterPacketReader reader(1024);
    std::string commands;
    for (size_t i = 0; i < stream.size(); i += step) {
      reader.feed(std::string_view(stream).substr(i, step));
      while (true) {
        auto p = reader.next();
        ASSERT_TRUE(p.ok());
        if (!p->has_value()) break;
        commands += (*p)->command;
      }
    }
    EXPECT_EQ(commands, "cha") << "step " << step;
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(MilterProtocol, ReaderRefusesZeroAndOversizedLengthsEarly) {
  MilterPacketReader zero(1024);
  zero.feed("\0\0\0\0"s);
  EXPECT_FALSE(zero.next().ok());

  // Only the length word has arrived: the 2 GiB announcement is refused without waiting.
  MilterPacketReader huge(1 << 20);
  huge.feed("\x80\0\0\0"s);
  EXPECT_FALSE(huge.next().ok());

  // Data of exactly the limit is fine, one byte more is not.
  MilterPacketReader at_limit(10);
  std::string p;
  encode_milter_packet(p, 'b', std::string(10, 'x'));
  at_limit.feed(p);
  auto ok = at_limit.next();
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->has_value());
  MilterPacketReader over(10);
  p.clear();
  encode_milter_packet(p, 'b', std::string(11, 'x'));
  over.feed(p.substr(0, 4));
  EXPECT_FALSE(over.next().ok());
}

TEST(MilterProtocol, CommandDecoderRefusesGarbage) {
  EXPECT_FALSE(decode_command(MilterPacket{'O', "\0\0"s}).ok());
  EXPECT_FALSE(decode_command(MilterPacket{'D', ""}).ok());
  EXPECT_FALSE(decode_command(MilterPacket{'D', "Cname\0"s}).ok());
  EXPECT_FALSE(decode_command(MilterPacket{'C', "host\0" "4\0"s}).ok());
  EXPECT_FALSE(decode_command(MilterPacket{'Q', "x"}).ok());
  EXPECT_FALSE(decode_command(MilterPacket{'?', ""}).ok());
}

}  // namespace
}  // namespace correo
