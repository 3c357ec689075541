// milter_session.cc - the MTA side of one milter conversation (see milter_session.h).
//
// advance() sends stages from stage_ on until one needs a reply (awaiting_), so stages the
// milter will not answer are pipelined into one write. Each reply is handled by the stage
// it answers; only EOB takes several (edits, then the decision).
#include "relay/policy/milter/milter_session.h"

#include <algorithm>

namespace correo {
namespace {

// Everything we can do with a milter's edits (mfapi.h SMFIF_*). SETSYMLIST is offered so
// milters that want it still negotiate; its macro lists are ignored because extra macros
// cost libmilter nothing.
constexpr uint32_t kOfferedActions = kSmfifAddHeaders | kSmfifChangeBody | kSmfifAddRcpt | kSmfifDelRcpt |
                                     kSmfifChangeHeaders | kSmfifQuarantine | kSmfifChangeFrom |
                                     kSmfifAddRcptWithArgs | kSmfifSetSymList;
// Every step we can leave out or not wait for. RCPT_REJ is not offered: rejected recipients
// never reach us at end of DATA.
constexpr uint32_t kOfferedProtocol =
    kSmfipNoConnect | kSmfipNoHelo | kSmfipNoMail | kSmfipNoRcpt | kSmfipNoBody | kSmfipNoHeaders | kSmfipNoEoh |
    kSmfipNrHeader | kSmfipNoUnknown | kSmfipNoData | kSmfipSkip | kSmfipNrConnect | kSmfipNrHelo | kSmfipNrMail |
    kSmfipNrRcpt | kSmfipNrData | kSmfipNrUnknown | kSmfipNrEoh | kSmfipNrBody | kSmfipHeaderLeadingSpace;
// mfdef.h SMFI_INTERNAL: bits libmilter keeps between itself and the MTA (SMFIP_MDS_*).
constexpr uint32_t kInternalProtocolBits = 0x70000000;

// Postfix's replies when the milter gives none of its own (milter8.c).
constexpr const char* kDefaultReject = "550 5.7.1 Command rejected";
constexpr const char* kDefaultTempFail = "451 4.7.1 Service unavailable - try again later";
constexpr const char* kShutdownReply = "421 4.7.0 Server closing connection";

std::string without_angles(std::string_view a) {
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
  return std::string(a);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// clean_reply_code - an SMFIR_REPLYCODE text as an SMTP reply, or nullopt when malformed.
// Postfix's checks: [45]dd followed by ' ' or '-', an enhanced code (if any) of the same
// class. Each CRLF-separated line must carry the same code, since the caller sends the text
// to an SMTP client as it is; continuation marks are normalised ('-' on all but the last).
// Sendmail uses the text as a format string, so milters double '%'; we undo that as Postfix
// does ("%%" -> "%", a lone '%' dropped).
std::optional<std::string> clean_reply_code(std::string_view text) {
  if (text.size() < 4 || (text[0] != '4' && text[0] != '5') || !is_digit(text[1]) || !is_digit(text[2])) {
    return std::nullopt;
  }
  const std::string_view code = text.substr(0, 3);
  std::string out;
  while (true) {
    const size_t end = text.find("\r\n");
    std::string_view line = text.substr(0, end);
    if (line.size() < 4 || line.substr(0, 3) != code || (line[3] != ' ' && line[3] != '-')) return std::nullopt;
    if (line.size() > 4 && is_digit(line[4]) && line[4] != code[0]) return std::nullopt;
    for (char c : line) {
      if (c == '\r' || c == '\n') return std::nullopt;
    }
    out.append(code);
    out.push_back(end == std::string_view::npos ? ' ' : '-');
    for (size_t i = 4; i < line.size(); ++i) {
      if (line[i] == '%') {
        if (++i >= line.size()) break;
      }
      out.push_back(line[i]);
    }
    if (end == std::string_view::npos) break;
    out += "\r\n";
    text.remove_prefix(end + 2);
  }
  return out;
}

// required_action - the SMFIF_* flag a modification reply needs (0 = not a modification).
uint32_t required_action(MilterReplyType t) {
  switch (t) {
    case MilterReplyType::kAddHeader:
    case MilterReplyType::kInsertHeader: return kSmfifAddHeaders;
    case MilterReplyType::kChangeHeader: return kSmfifChangeHeaders;
    case MilterReplyType::kReplaceBody: return kSmfifChangeBody;
    case MilterReplyType::kAddRcpt: return kSmfifAddRcpt;
    case MilterReplyType::kAddRcptWithArgs: return kSmfifAddRcptWithArgs;
    case MilterReplyType::kDelRcpt: return kSmfifDelRcpt;
    case MilterReplyType::kChangeFrom: return kSmfifChangeFrom;
    case MilterReplyType::kQuarantine: return kSmfifQuarantine;
    default: return 0;
  }
}

}  // namespace

const char* to_string(MilterVerdict v) {
  switch (v) {
    case MilterVerdict::kAccept: return "accept";
    case MilterVerdict::kContinue: return "continue";
    case MilterVerdict::kReject: return "reject";
    case MilterVerdict::kTempFail: return "tempfail";
    case MilterVerdict::kDiscard: return "discard";
    case MilterVerdict::kQuarantine: return "quarantine";
  }
  return "unknown";
}

MilterSession::MilterSession(MilterMessage msg, MilterLimits limits)
    : msg_(std::move(msg)), limits_(limits), reader_(limits.max_packet_bytes) {
  headers_ = parse_header_section(msg_.content);
  body_offset_ = headers_.body_start;
}

void MilterSession::start() {
  encode_optneg(out_, kMilterProtocolVersion, kOfferedActions, kOfferedProtocol);
  awaiting_ = Stage::kOptneg;
}

std::vector<MilterMacro> MilterSession::macros_for(char stage) const {
  std::vector<MilterMacro> m;
  auto add = [&](const char* name, std::string value) { m.emplace_back(name, std::move(value)); };
  switch (stage) {
    case kSmficConnect:
      add("j", msg_.our_hostname);
      add("{daemon_name}", "correo");
      add("v", "correo " CORREO_VERSION);
      if (!msg_.client_ip.empty()) {
        // Sendmail's $_: "name [addr]"; an unresolved client is already "[addr]".
        add("_", msg_.client_name.starts_with('[') ? msg_.client_name
                                                    : msg_.client_name + " [" + msg_.client_ip + "]");
        add("{client_addr}", msg_.client_ip);
        add("{client_port}", std::to_string(msg_.client_port));
      }
      add("{client_name}", msg_.client_name);
      break;
    case kSmficMail:
      if (!msg_.queue_id.empty()) add("i", msg_.queue_id);
      if (msg_.authenticated) add("{auth_authen}", msg_.auth_user);
      add("{mail_addr}", msg_.mail_from);
      break;
    case kSmficRcpt:
      add("{rcpt_addr}", msg_.rcpts[rcpt_index_]);
      break;
    case kSmficData:
    case kSmficEoh:
    case kSmficBodyEob:
      if (!msg_.queue_id.empty()) add("i", msg_.queue_id);
      break;
    default:
      break;
  }
  return m;
}

// begin_stage - the stage's macros, then whether the command itself is to be sent.
bool MilterSession::begin_stage(char command, uint32_t skip_flag) {
  const std::vector<MilterMacro> macros = macros_for(command);
  if (!macros.empty()) encode_macros(out_, command, macros);
  return !has(skip_flag);
}

void MilterSession::advance() {
  // await - after sending a stage's command: wait for its reply unless the milter said it
  // will not send one (SMFIP_NR_*).
  auto await = [&](uint32_t no_reply_flag, Stage stage) {
    if (has(no_reply_flag)) return false;
    awaiting_ = stage;
    return true;
  };
  while (!done_) {
    switch (stage_) {
      case Stage::kOptneg:
      case Stage::kDone:
        return;
      case Stage::kConnect: {
        stage_ = Stage::kHelo;
        if (begin_stage(kSmficConnect, kSmfipNoConnect)) {
          if (msg_.client_ip.empty()) {
            encode_connect(out_, msg_.client_name, kSmfiaUnknown, 0, {});
          } else {
            encode_connect(out_, msg_.client_name, msg_.client_v6 ? kSmfiaInet6 : kSmfiaInet, msg_.client_port,
                           msg_.client_ip);
          }
          if (await(kSmfipNrConnect, Stage::kConnect)) return;
        }
        break;
      }
      case Stage::kHelo:
        stage_ = Stage::kMail;
        if (!msg_.helo.empty() && begin_stage(kSmficHelo, kSmfipNoHelo)) {
          encode_helo(out_, msg_.helo);
          if (await(kSmfipNrHelo, Stage::kHelo)) return;
        }
        break;
      case Stage::kMail: {
        stage_ = Stage::kRcpt;
        in_transaction_ = true;
        if (begin_stage(kSmficMail, kSmfipNoMail)) {
          std::vector<std::string> args{"<" + msg_.mail_from + ">"};
          args.insert(args.end(), msg_.mail_args.begin(), msg_.mail_args.end());
          encode_mail(out_, args);
          if (await(kSmfipNrMail, Stage::kMail)) return;
        }
        break;
      }
      case Stage::kRcpt: {
        if (rcpt_index_ < msg_.rcpts.size()) {
          const bool send = begin_stage(kSmficRcpt, kSmfipNoRcpt);
          awaited_rcpt_ = rcpt_index_++;
          if (send) {
            const std::string arg = "<" + msg_.rcpts[awaited_rcpt_] + ">";
            encode_rcpt(out_, std::span<const std::string>(&arg, 1));
            if (await(kSmfipNrRcpt, Stage::kRcpt)) return;
          }
          break;
        }
        if (!msg_.rcpts.empty() && result_.rejected_rcpts.size() == msg_.rcpts.size()) {
          finish(any_rcpt_tempfail_ ? MilterVerdict::kTempFail : MilterVerdict::kReject);
          return;
        }
        stage_ = Stage::kData;
        break;
      }
      case Stage::kData:
        stage_ = Stage::kHeaders;
        if (begin_stage(kSmficData, kSmfipNoData)) {
          encode_data(out_);
          if (await(kSmfipNrData, Stage::kData)) return;
        }
        break;
      case Stage::kHeaders:
        if (!has(kSmfipNoHeaders) && header_index_ < headers_.fields.size()) {
          const HeaderField& f = headers_.fields[header_index_++];
          std::string value = milter_header_value(f.value, has(kSmfipHeaderLeadingSpace));
          // libmilter drops the connection on packets over 64 KiB - 1; like Postfix's
          // header_size_limit, a giant (folded) header reaches the milter truncated.
          value.resize(std::min(value.size(), kMilterChunkSize - std::min(kMilterChunkSize, f.name.size() + 2)));
          encode_header(out_, f.name, value);
          if (await(kSmfipNrHeader, Stage::kHeaders)) return;
          break;
        }
        stage_ = Stage::kEoh;
        break;
      case Stage::kEoh:
        stage_ = Stage::kBody;
        if (begin_stage(kSmficEoh, kSmfipNoEoh)) {
          encode_eoh(out_);
          if (await(kSmfipNrEoh, Stage::kEoh)) return;
        }
        break;
      case Stage::kBody:
        if (!has(kSmfipNoBody) && body_offset_ < msg_.content.size()) {
          const size_t n = std::min(kMilterChunkSize, msg_.content.size() - body_offset_);
          encode_body(out_, msg_.content.substr(body_offset_, n));
          body_offset_ += n;
          if (await(kSmfipNrBody, Stage::kBody)) return;
          break;
        }
        stage_ = Stage::kEob;
        break;
      case Stage::kEob:
        // EOB is always sent and always answered: it carries the final decision.
        begin_stage(kSmficBodyEob, 0);
        encode_end_of_body(out_);
        stage_ = Stage::kDone;
        awaiting_ = Stage::kEob;
        return;
    }
  }
}

void MilterSession::on_bytes(std::string_view in) {
  // Feed in slices so the reader never holds more than one packet and one slice, however
  // much the caller read at once.
  constexpr size_t kSlice = 64 * 1024;
  while (!done_ && !in.empty()) {
    const size_t n = std::min(kSlice, in.size());
    reader_.feed(in.substr(0, n));
    in.remove_prefix(n);
    while (!done_) {
      auto packet = reader_.next();
      if (!packet.ok()) return fail(packet.error().message);
      if (!packet->has_value()) break;
      auto reply = decode_reply(**packet);
      if (!reply.ok()) return fail(reply.error().message);
      on_reply(*reply);
    }
  }
}

void MilterSession::on_closed() {
  if (!done_) fail("milter closed the connection");
}

void MilterSession::on_reply(const MilterReply& reply) {
  // PROGRESS only says "still working"; timeouts are the caller's, so nothing changes here.
  if (reply.type == MilterReplyType::kProgress) return;
  const Stage stage = awaiting_;
  if (stage == Stage::kDone) return fail(std::string("unexpected ") + to_string(reply.type) + " when no reply was due");
  if (stage == Stage::kEob) return on_eob_reply(reply);
  awaiting_ = Stage::kDone;
  if (stage == Stage::kOptneg) return on_optneg(reply);
  if (stage == Stage::kRcpt) return on_rcpt_reply(reply);
  on_stage_reply(stage, reply);
}

void MilterSession::on_optneg(const MilterReply& reply) {
  if (reply.type != MilterReplyType::kOptneg) return fail(std::string("expected SMFIC_OPTNEG, got ") + to_string(reply.type));
  if (reply.version < 2 || reply.version > kMilterProtocolVersion) {
    return fail("milter protocol version " + std::to_string(reply.version) + " not supported");
  }
  const uint32_t protocol = reply.protocol & ~kInternalProtocolBits;
  // Honouring an unoffered NR flag would leave us waiting for a reply that never comes (or
  // the reverse), so a mismatch is fatal, as in Postfix.
  if ((reply.actions & ~kOfferedActions) != 0) return fail("milter asks for actions we did not offer");
  if ((protocol & ~kOfferedProtocol) != 0) return fail("milter asks for protocol steps we did not offer");
  actions_ = reply.actions;
  protocol_ = protocol;
  stage_ = Stage::kConnect;
  advance();
}

// on_stage_reply - the decision replies valid after CONNECT, HELO, MAIL, DATA, a header,
// EOH, a body chunk; also the non-edit decisions at EOB.
void MilterSession::on_stage_reply(Stage stage, const MilterReply& reply) {
  switch (reply.type) {
    case MilterReplyType::kContinue:
      return advance();
    case MilterReplyType::kAccept:
      return finish(MilterVerdict::kAccept);
    case MilterReplyType::kReject:
      return finish(MilterVerdict::kReject);
    case MilterReplyType::kTempFail:
      return finish(MilterVerdict::kTempFail);
    case MilterReplyType::kShutdown:
    case MilterReplyType::kConnFail:
      return finish(MilterVerdict::kTempFail, kShutdownReply);
    case MilterReplyType::kReplyCode: {
      auto text = clean_reply_code(reply.text);
      if (!text) return fail("malformed SMFIR_REPLYCODE");
      const MilterVerdict verdict = (*text)[0] == '4' ? MilterVerdict::kTempFail : MilterVerdict::kReject;
      return finish(verdict, std::move(*text));
    }
    case MilterReplyType::kDiscard:
      if (stage == Stage::kConnect || stage == Stage::kHelo) return fail("SMFIR_DISCARD is not allowed at CONNECT or HELO");
      return finish(MilterVerdict::kDiscard);
    case MilterReplyType::kSkip:
      // SKIP ends the body early; only valid for a body chunk and when negotiated.
      if (stage != Stage::kBody || !has(kSmfipSkip)) return fail("unexpected SMFIR_SKIP");
      body_offset_ = msg_.content.size();
      return advance();
    default:
      return fail(std::string("unexpected ") + to_string(reply.type) + " before end of body");
  }
}

void MilterSession::on_rcpt_reply(const MilterReply& reply) {
  // libmilter: REJECT and TEMPFAIL from xxfi_envrcpt refuse that recipient only.
  const std::string& rcpt = msg_.rcpts[awaited_rcpt_];
  switch (reply.type) {
    case MilterReplyType::kReject:
      result_.rejected_rcpts.push_back({rcpt, kDefaultReject});
      return advance();
    case MilterReplyType::kTempFail:
      any_rcpt_tempfail_ = true;
      result_.rejected_rcpts.push_back({rcpt, kDefaultTempFail});
      return advance();
    case MilterReplyType::kReplyCode: {
      auto text = clean_reply_code(reply.text);
      if (!text) return fail("malformed SMFIR_REPLYCODE");
      if ((*text)[0] == '4') any_rcpt_tempfail_ = true;
      result_.rejected_rcpts.push_back({rcpt, std::move(*text)});
      return advance();
    }
    default:
      return on_stage_reply(Stage::kRcpt, reply);
  }
}

void MilterSession::on_eob_reply(const MilterReply& reply) {
  switch (reply.type) {
    case MilterReplyType::kContinue:
    case MilterReplyType::kAccept: {
      const bool edited = !result_.header_edits.empty() || result_.new_body || !result_.added_rcpts.empty() ||
                          !result_.removed_rcpts.empty() || result_.new_sender;
      return finish(quarantine_ ? MilterVerdict::kQuarantine
                                : edited ? MilterVerdict::kContinue : MilterVerdict::kAccept);
    }
    case MilterReplyType::kSkip:
      return fail("unexpected SMFIR_SKIP at end of body");
    default:
      break;
  }
  if (required_action(reply.type) == 0) {
    awaiting_ = Stage::kDone;
    return on_stage_reply(Stage::kEob, reply);
  }
  record_edit(reply);  // stays awaiting kEob unless it failed
}

// record_edit - one modification reply at EOB; false (and failed) when not negotiated,
// malformed or over a limit.
bool MilterSession::record_edit(const MilterReply& r) {
  if ((actions_ & required_action(r.type)) == 0) {
    fail(std::string(to_string(r.type)) + " without negotiating it");
    return false;
  }
  if (r.type == MilterReplyType::kReplaceBody) {
    if (!result_.new_body) result_.new_body.emplace();
    if (result_.new_body->size() + r.text.size() > limits_.max_replaced_body_bytes) {
      fail("replacement body exceeds the limit");
      return false;
    }
    result_.new_body->append(r.text);
    return true;
  }
  edit_bytes_ += r.name.size() + r.value.size() + r.text.size() + r.args.size();
  if (++edit_count_ > limits_.max_edits || edit_bytes_ > limits_.max_edit_bytes) {
    fail("milter edits exceed the limit");
    return false;
  }
  switch (r.type) {
    case MilterReplyType::kAddHeader:
    case MilterReplyType::kInsertHeader:
    case MilterReplyType::kChangeHeader: {
      if (!valid_header_name(r.name)) {
        fail(std::string(to_string(r.type)) + " with an invalid header name");
        return false;
      }
      HeaderEdit e;
      e.kind = r.type == MilterReplyType::kAddHeader      ? HeaderEdit::kAdd
               : r.type == MilterReplyType::kInsertHeader ? HeaderEdit::kInsert
                                                          : HeaderEdit::kChange;
      // Sendmail compatibility (Postfix milter8.c): change index 0 means the first.
      e.index = e.kind == HeaderEdit::kChange ? std::max<uint32_t>(r.index, 1) : r.index;
      e.name = r.name;
      e.value = r.value;
      result_.header_edits.push_back(std::move(e));
      return true;
    }
    case MilterReplyType::kAddRcpt:
    case MilterReplyType::kAddRcptWithArgs:
      result_.added_rcpts.push_back(without_angles(r.text));
      return true;
    case MilterReplyType::kDelRcpt:
      result_.removed_rcpts.push_back(without_angles(r.text));
      return true;
    case MilterReplyType::kChangeFrom:
      result_.new_sender = without_angles(r.text);
      result_.new_sender_args = r.args;
      return true;
    case MilterReplyType::kQuarantine:
      quarantine_ = true;
      result_.quarantine_reason = r.text;
      return true;
    default:
      return true;
  }
}

void MilterSession::finish(MilterVerdict verdict, std::string reply) {
  result_.verdict = verdict;
  result_.reply = std::move(reply);
  if (verdict != MilterVerdict::kContinue && verdict != MilterVerdict::kQuarantine) {
    result_.header_edits.clear();
    result_.new_body.reset();
    result_.added_rcpts.clear();
    result_.removed_rcpts.clear();
    result_.new_sender.reset();
    result_.new_sender_args.clear();
  }
  if (verdict != MilterVerdict::kQuarantine) result_.quarantine_reason.clear();
  // A decision before EOB leaves libmilter inside a message: ABORT resets it (and runs the
  // milter's xxfi_abort) before QUIT closes the conversation, as Postfix's RSET path does.
  if (in_transaction_ && stage_ != Stage::kDone) encode_abort(out_);
  encode_quit(out_);
  stage_ = Stage::kDone;
  awaiting_ = Stage::kDone;
  done_ = true;
}

void MilterSession::fail(std::string error) {
  result_ = MilterResult{};
  result_.verdict = MilterVerdict::kTempFail;
  result_.failed = true;
  result_.error = std::move(error);
  out_.clear();  // the stream is out of step; nothing more is worth sending
  stage_ = Stage::kDone;
  awaiting_ = Stage::kDone;
  done_ = true;
}

}  // namespace correo
