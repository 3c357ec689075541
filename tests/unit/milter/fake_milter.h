// fake_milter.h - a scripted milter for MilterSession tests: bytes in, bytes out, no sockets.
//
// run() drives a session to the end: each drain of the session's output is one "write"
// (writes), decoded into command packets (received); the script may answer any command,
// otherwise the fake answers as libmilter would with everything continuing: nothing for
// macros, ABORT and QUIT, nothing for a stage the negotiated SMFIP_NR_* says it will not
// answer, SMFIR_CONTINUE for other stages and SMFIR_ACCEPT at end of body.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "relay/policy/milter/milter_session.h"

namespace correo::test_util {

inline MilterReply milter_reply(MilterReplyType type, std::string text = {}) {
  MilterReply r;
  r.type = type;
  r.text = std::move(text);
  return r;
}

inline MilterReply header_reply(MilterReplyType type, uint32_t index, std::string name, std::string value) {
  MilterReply r;
  r.type = type;
  r.index = index;
  r.name = std::move(name);
  r.value = std::move(value);
  return r;
}

class FakeMilter {
 public:
  using Script = std::function<std::optional<std::vector<MilterReply>>(const MilterCommandPacket&)>;

  uint32_t version = 6, actions = 0, protocol = 0;
  Script script;
  size_t feed_step = SIZE_MAX;  // feed replies to the session this many bytes at a time
  std::vector<MilterCommandPacket> received;
  std::vector<std::string> writes;

  const MilterResult& run(MilterSession& s) {
    s.start();
    for (int guard = 0; guard < 100000; ++guard) {
      std::string out;
      out.swap(s.output());
      if (out.empty()) break;
      writes.push_back(out);
      const std::string in = respond(out);
      for (size_t i = 0; i < in.size() && !s.done(); i += feed_step) s.on_bytes(std::string_view(in).substr(i, feed_step));
    }
    return s.result();
  }

  // commands - what the session sent, e.g. "O DC C H DM M ...": macro packets as 'D' plus
  // their stage.
  std::string commands() const {
    std::string s;
    for (const auto& c : received) {
      if (!s.empty()) s += ' ';
      s += c.command;
      if (c.command == kSmficMacro) s += c.macro_stage;
    }
    return s;
  }

  // macro - the value of `name` in the last macro packet for `stage`; "<none>" if absent.
  std::string macro(char stage, const std::string& name) const {
    for (auto it = received.rbegin(); it != received.rend(); ++it) {
      if (it->command != kSmficMacro || it->macro_stage != stage) continue;
      for (size_t i = 0; i + 1 < it->strings.size(); i += 2) {
        if (it->strings[i] == name) return it->strings[i + 1];
      }
      return "<none>";
    }
    return "<none>";
  }

  const MilterCommandPacket* first(char command) const {
    for (const auto& c : received) {
      if (c.command == command) return &c;
    }
    return nullptr;
  }

 private:
  std::string respond(const std::string& out) {
    MilterPacketReader reader(1 << 24);
    reader.feed(out);
    std::string in;
    while (true) {
      auto p = reader.next();
      EXPECT_TRUE(p.ok());
      if (!p.ok() || !p->has_value()) break;
      auto c = decode_command(**p);
      EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
      if (!c.ok()) break;
      received.push_back(*c);
      std::optional<std::vector<MilterReply>> replies;
      if (script) replies = script(*c);
      if (!replies) replies = default_replies(c->command);
      for (const auto& r : *replies) encode_reply(in, r);
    }
    return in;
  }

  std::vector<MilterReply> default_replies(char command) const {
    auto unless = [&](uint32_t nr) {
      return (protocol & nr) ? std::vector<MilterReply>{} : std::vector<MilterReply>{milter_reply(MilterReplyType::kContinue)};
    };
    switch (command) {
      case kSmficOptneg: {
        MilterReply r = milter_reply(MilterReplyType::kOptneg);
        r.version = version;
        r.actions = actions;
        r.protocol = protocol;
        return {r};
      }
      case kSmficConnect: return unless(kSmfipNrConnect);
      case kSmficHelo: return unless(kSmfipNrHelo);
      case kSmficMail: return unless(kSmfipNrMail);
      case kSmficRcpt: return unless(kSmfipNrRcpt);
      case kSmficData: return unless(kSmfipNrData);
      case kSmficHeader: return unless(kSmfipNrHeader);
      case kSmficEoh: return unless(kSmfipNrEoh);
      case kSmficBody: return unless(kSmfipNrBody);
      case kSmficBodyEob: return {milter_reply(MilterReplyType::kAccept)};
      default: return {};
    }
  }
};

}  // namespace correo::test_util
