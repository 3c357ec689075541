// milter_protocol.cc - milter packet codec (see milter_protocol.h).
#include "relay/policy/milter/milter_protocol.h"

#include <cassert>
#include <cstring>

namespace correo {
namespace {

constexpr size_t kLengthBytes = 4;

void put_u32(std::string& out, uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out.append(b, 4);
}

void put_u16(std::string& out, uint16_t v) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 2);
}

uint32_t get_u32(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// put_string - a protocol string: the bytes and a NUL. An embedded NUL would end the field
// early on the milter's side and shift every following field, so it is cut there.
void put_string(std::string& out, std::string_view s) {
  out.append(s.substr(0, s.find('\0')));
  out.push_back('\0');
}

// begin_packet / end_packet - reserve the length word, then fill it in once the data is
// written, so callers never compute sizes by hand.
size_t begin_packet(std::string& out, char command) {
  const size_t at = out.size();
  out.append(kLengthBytes, '\0');
  out.push_back(command);
  return at;
}

void end_packet(std::string& out, size_t at) {
  const uint32_t len = static_cast<uint32_t>(out.size() - at - kLengthBytes);
  std::string word;
  put_u32(word, len);
  out.replace(at, kLengthBytes, word);
}

void encode_strings(std::string& out, char command, std::span<const std::string> fields) {
  const size_t at = begin_packet(out, command);
  for (const auto& f : fields) put_string(out, f);
  end_packet(out, at);
}

// split_fields - data made of NUL-terminated strings only. Fails when the last field lacks
// its NUL (a truncated packet) or when the count is outside [min, max].
std::optional<std::vector<std::string_view>> split_fields(std::string_view data, size_t min, size_t max) {
  std::vector<std::string_view> fields;
  while (!data.empty()) {
    const size_t nul = data.find('\0');
    if (nul == std::string_view::npos || fields.size() == max) return std::nullopt;
    fields.push_back(data.substr(0, nul));
    data.remove_prefix(nul + 1);
  }
  if (fields.size() < min) return std::nullopt;
  return fields;
}

Error bad(const MilterPacket& p, const char* what) {
  return Error{std::string("milter reply '") + p.command + "': " + what};
}

}  // namespace

const char* to_string(MilterReplyType type) {
  switch (type) {
    case MilterReplyType::kAddRcpt: return "SMFIR_ADDRCPT";
    case MilterReplyType::kDelRcpt: return "SMFIR_DELRCPT";
    case MilterReplyType::kAddRcptWithArgs: return "SMFIR_ADDRCPT_PAR";
    case MilterReplyType::kShutdown: return "SMFIR_SHUTDOWN";
    case MilterReplyType::kAccept: return "SMFIR_ACCEPT";
    case MilterReplyType::kReplaceBody: return "SMFIR_REPLBODY";
    case MilterReplyType::kContinue: return "SMFIR_CONTINUE";
    case MilterReplyType::kDiscard: return "SMFIR_DISCARD";
    case MilterReplyType::kChangeFrom: return "SMFIR_CHGFROM";
    case MilterReplyType::kConnFail: return "SMFIR_CONN_FAIL";
    case MilterReplyType::kAddHeader: return "SMFIR_ADDHEADER";
    case MilterReplyType::kInsertHeader: return "SMFIR_INSHEADER";
    case MilterReplyType::kChangeHeader: return "SMFIR_CHGHEADER";
    case MilterReplyType::kProgress: return "SMFIR_PROGRESS";
    case MilterReplyType::kQuarantine: return "SMFIR_QUARANTINE";
    case MilterReplyType::kReject: return "SMFIR_REJECT";
    case MilterReplyType::kSkip: return "SMFIR_SKIP";
    case MilterReplyType::kTempFail: return "SMFIR_TEMPFAIL";
    case MilterReplyType::kReplyCode: return "SMFIR_REPLYCODE";
    case MilterReplyType::kOptneg: return "SMFIC_OPTNEG";
  }
  return "unknown";
}

void encode_milter_packet(std::string& out, char command, std::string_view data) {
  put_u32(out, static_cast<uint32_t>(data.size() + 1));
  out.push_back(command);
  out.append(data);
}

void encode_optneg(std::string& out, uint32_t version, uint32_t actions, uint32_t protocol) {
  const size_t at = begin_packet(out, kSmficOptneg);
  put_u32(out, version);
  put_u32(out, actions);
  put_u32(out, protocol);
  end_packet(out, at);
}

void encode_macros(std::string& out, char stage, std::span<const MilterMacro> macros) {
  const size_t at = begin_packet(out, kSmficMacro);
  out.push_back(stage);
  for (const auto& [name, value] : macros) {
    put_string(out, name);
    put_string(out, value);
  }
  end_packet(out, at);
}

void encode_connect(std::string& out, std::string_view hostname, char family, uint16_t port,
                    std::string_view address) {
  const size_t at = begin_packet(out, kSmficConnect);
  put_string(out, hostname);
  out.push_back(family);
  // libmilter reads port and address only for families other than SMFIA_UNKNOWN.
  if (family != kSmfiaUnknown) {
    put_u16(out, port);
    put_string(out, address);
  }
  end_packet(out, at);
}

void encode_helo(std::string& out, std::string_view helo) {
  const size_t at = begin_packet(out, kSmficHelo);
  put_string(out, helo);
  end_packet(out, at);
}

void encode_mail(std::string& out, std::span<const std::string> args) { encode_strings(out, kSmficMail, args); }
void encode_rcpt(std::string& out, std::span<const std::string> args) { encode_strings(out, kSmficRcpt, args); }
void encode_data(std::string& out) { encode_milter_packet(out, kSmficData, {}); }

void encode_header(std::string& out, std::string_view name, std::string_view value) {
  const size_t at = begin_packet(out, kSmficHeader);
  put_string(out, name);
  put_string(out, value);
  end_packet(out, at);
}

void encode_eoh(std::string& out) { encode_milter_packet(out, kSmficEoh, {}); }

void encode_body(std::string& out, std::string_view chunk) {
  assert(chunk.size() <= kMilterChunkSize);
  encode_milter_packet(out, kSmficBody, chunk);
}

void encode_end_of_body(std::string& out) { encode_milter_packet(out, kSmficBodyEob, {}); }
void encode_abort(std::string& out) { encode_milter_packet(out, kSmficAbort, {}); }
void encode_quit(std::string& out) { encode_milter_packet(out, kSmficQuit, {}); }

Result<std::optional<MilterPacket>> MilterPacketReader::next() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  const std::string_view avail = std::string_view(buf_).substr(pos_);
  if (avail.size() < kLengthBytes) return std::optional<MilterPacket>();
  const uint32_t len = get_u32(avail);
  // The length counts the command byte, so 0 is malformed; the cap is checked before the
  // data arrives so an announced 4 GiB packet is refused without buffering any of it.
  if (len == 0) return Error{"milter packet with length 0"};
  if (len - 1 > max_packet_) return Error{"milter packet of " + std::to_string(len) + " bytes exceeds the limit"};
  if (avail.size() < kLengthBytes + len) return std::optional<MilterPacket>();
  MilterPacket p;
  p.command = avail[kLengthBytes];
  p.data.assign(avail.substr(kLengthBytes + 1, len - 1));
  pos_ += kLengthBytes + len;
  // Drop the consumed prefix once it dominates, so a long conversation keeps one packet.
  if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return std::optional<MilterPacket>(std::move(p));
}

Result<MilterReply> decode_reply(const MilterPacket& p) {
  MilterReply r;
  r.type = static_cast<MilterReplyType>(p.command);
  const std::string_view d = p.data;
  switch (r.type) {
    case MilterReplyType::kContinue:
    case MilterReplyType::kAccept:
    case MilterReplyType::kReject:
    case MilterReplyType::kTempFail:
    case MilterReplyType::kDiscard:
    case MilterReplyType::kProgress:
    case MilterReplyType::kSkip:
    case MilterReplyType::kShutdown:
    case MilterReplyType::kConnFail:
      // Postfix refuses data after these too: it means we and the milter disagree on framing.
      if (!d.empty()) return bad(p, "unexpected data");
      return r;
    case MilterReplyType::kOptneg:
      // v6 may append SMFIR_SETSYMLIST macro lists after the three words; we send our fixed
      // macro set regardless (extra macros are harmless to libmilter), so they are skipped.
      if (d.size() < 12) return bad(p, "short option negotiation");
      r.version = get_u32(d);
      r.actions = get_u32(d.substr(4));
      r.protocol = get_u32(d.substr(8));
      return r;
    case MilterReplyType::kReplyCode:
    case MilterReplyType::kQuarantine:
    case MilterReplyType::kAddRcpt:
    case MilterReplyType::kDelRcpt: {
      const auto f = split_fields(d, 1, 1);
      if (!f) return bad(p, "expected one NUL-terminated string");
      r.text.assign((*f)[0]);
      return r;
    }
    case MilterReplyType::kAddRcptWithArgs:
    case MilterReplyType::kChangeFrom: {
      const auto f = split_fields(d, 1, 2);
      if (!f) return bad(p, "expected address and optional parameters");
      r.text.assign((*f)[0]);
      if (f->size() == 2) r.args.assign((*f)[1]);
      return r;
    }
    case MilterReplyType::kAddHeader: {
      const auto f = split_fields(d, 2, 2);
      if (!f) return bad(p, "expected header name and value");
      r.name.assign((*f)[0]);
      r.value.assign((*f)[1]);
      return r;
    }
    case MilterReplyType::kInsertHeader:
    case MilterReplyType::kChangeHeader: {
      if (d.size() < 4) return bad(p, "missing header index");
      const auto f = split_fields(d.substr(4), 2, 2);
      if (!f) return bad(p, "expected index, header name and value");
      r.index = get_u32(d);
      r.name.assign((*f)[0]);
      r.value.assign((*f)[1]);
      return r;
    }
    case MilterReplyType::kReplaceBody:
      r.text.assign(d);
      return r;
  }
  return bad(p, "unknown reply");
}

void encode_reply(std::string& out, const MilterReply& r) {
  const size_t at = begin_packet(out, static_cast<char>(r.type));
  switch (r.type) {
    case MilterReplyType::kOptneg:
      put_u32(out, r.version);
      put_u32(out, r.actions);
      put_u32(out, r.protocol);
      break;
    case MilterReplyType::kReplyCode:
    case MilterReplyType::kQuarantine:
    case MilterReplyType::kAddRcpt:
    case MilterReplyType::kDelRcpt:
      put_string(out, r.text);
      break;
    case MilterReplyType::kAddRcptWithArgs:
    case MilterReplyType::kChangeFrom:
      put_string(out, r.text);
      if (!r.args.empty()) put_string(out, r.args);
      break;
    case MilterReplyType::kInsertHeader:
    case MilterReplyType::kChangeHeader:
      put_u32(out, r.index);
      [[fallthrough]];
    case MilterReplyType::kAddHeader:
      put_string(out, r.name);
      put_string(out, r.value);
      break;
    case MilterReplyType::kReplaceBody:
      out.append(r.text);
      break;
    default:
      break;
  }
  end_packet(out, at);
}

Result<MilterCommandPacket> decode_command(const MilterPacket& p) {
  MilterCommandPacket c;
  c.command = p.command;
  std::string_view d = p.data;
  auto strings = [&](std::string_view s, size_t min, size_t max) -> bool {
    const auto f = split_fields(s, min, max);
    if (!f) return false;
    for (auto v : *f) c.strings.emplace_back(v);
    return true;
  };
  const auto fail = [&](const char* what) { return Error{std::string("milter command '") + p.command + "': " + what}; };
  switch (p.command) {
    case kSmficOptneg:
      if (d.size() != 12) return fail("bad option negotiation");
      c.version = get_u32(d);
      c.actions = get_u32(d.substr(4));
      c.protocol = get_u32(d.substr(8));
      return c;
    case kSmficMacro:
      if (d.empty() || !strings(d.substr(1), 0, SIZE_MAX)) return fail("bad macro packet");
      if (c.strings.size() % 2 != 0) return fail("macro name without value");
      c.macro_stage = d[0];
      return c;
    case kSmficConnect: {
      const size_t nul = d.find('\0');
      if (nul == std::string_view::npos || nul + 1 >= d.size()) return fail("bad connect");
      c.strings.emplace_back(d.substr(0, nul));
      c.family = d[nul + 1];
      d.remove_prefix(nul + 2);
      if (c.family == kSmfiaUnknown) return d.empty() ? Result<MilterCommandPacket>(c) : fail("bad connect");
      if (d.size() < 2) return fail("bad connect port");
      c.port = static_cast<uint16_t>((static_cast<unsigned char>(d[0]) << 8) | static_cast<unsigned char>(d[1]));
      if (!strings(d.substr(2), 1, 1)) return fail("bad connect address");
      return c;
    }
    case kSmficHelo:
      if (!strings(d, 1, 1)) return fail("bad helo");
      return c;
    case kSmficMail:
    case kSmficRcpt:
      if (!strings(d, 1, SIZE_MAX)) return fail("bad address arguments");
      return c;
    case kSmficHeader:
      if (!strings(d, 2, 2)) return fail("bad header");
      return c;
    case kSmficBody:
    case kSmficBodyEob:
      c.body.assign(d);
      return c;
    case kSmficData:
    case kSmficEoh:
    case kSmficAbort:
    case kSmficQuit:
      if (!d.empty()) return fail("unexpected data");
      return c;
    default:
      return fail("unknown command");
  }
}

}  // namespace correo
