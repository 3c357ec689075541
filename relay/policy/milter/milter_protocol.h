// milter_protocol.h - the Sendmail milter protocol v6 packet codec, MTA side, pure.
//
// A packet is: uint32 big-endian length (of command byte + data), one command byte, data.
// Strings inside data are NUL-terminated; integers are big-endian. Constant values are those
// of libmilter's mfdef.h / mfapi.h (8.17), spelled kSmfic*/kSmfir*/kSmfip*/kSmfif* here so
// a grep for the libmilter name finds ours. libmilter itself is not linked: the protocol is
// small, and we want our own bounds on what a milter can make us allocate.
//
// Encoders append one packet to a caller-owned string (the MTA -> milter direction).
// MilterPacketReader splits milter output into packets, push/pull style, and refuses a length
// over its limit as soon as the 4-byte header arrives, so a hostile milter cannot make it
// buffer more than one bounded packet. decode_reply() types a packet from the milter.
// encode_reply() and decode_command() are the mirror image, for fake milters in tests and
// for tracing; the relay itself never needs them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relay/common/result.h"

namespace correo {

// The protocol version we speak (mfdef.h SMFI_PROT_VERSION).
inline constexpr uint32_t kMilterProtocolVersion = 6;
// A body chunk is at most this long (mfdef.h MILTER_CHUNK_SIZE); libmilter's default read
// limit is the same, so a larger SMFIC_BODY would be refused by the milter.
inline constexpr size_t kMilterChunkSize = 65535;

// Commands, MTA -> milter (mfdef.h SMFIC_*).
inline constexpr char kSmficAbort = 'A';
inline constexpr char kSmficBody = 'B';
inline constexpr char kSmficConnect = 'C';
inline constexpr char kSmficMacro = 'D';
inline constexpr char kSmficBodyEob = 'E';
inline constexpr char kSmficHelo = 'H';
inline constexpr char kSmficHeader = 'L';
inline constexpr char kSmficMail = 'M';
inline constexpr char kSmficEoh = 'N';
inline constexpr char kSmficOptneg = 'O';
inline constexpr char kSmficQuit = 'Q';
inline constexpr char kSmficRcpt = 'R';
inline constexpr char kSmficData = 'T';

// Replies, milter -> MTA (mfdef.h SMFIR_*).
enum class MilterReplyType : char {
  kAddRcpt = '+',
  kDelRcpt = '-',
  kAddRcptWithArgs = '2',  // SMFIR_ADDRCPT_PAR
  kShutdown = '4',         // 421: the milter is going away
  kAccept = 'a',
  kReplaceBody = 'b',
  kContinue = 'c',
  kDiscard = 'd',
  kChangeFrom = 'e',
  kConnFail = 'f',
  kAddHeader = 'h',
  kInsertHeader = 'i',
  kChangeHeader = 'm',
  kProgress = 'p',
  kQuarantine = 'q',
  kReject = 'r',
  kSkip = 's',
  kTempFail = 't',
  kReplyCode = 'y',
  kOptneg = 'O',
};
const char* to_string(MilterReplyType type);

// Address families in SMFIC_CONNECT (mfdef.h SMFIA_*).
inline constexpr char kSmfiaUnknown = 'U';
inline constexpr char kSmfiaInet = '4';
inline constexpr char kSmfiaInet6 = '6';

// Actions the milter may ask for (mfapi.h SMFIF_*).
inline constexpr uint32_t kSmfifAddHeaders = 0x001;
inline constexpr uint32_t kSmfifChangeBody = 0x002;
inline constexpr uint32_t kSmfifAddRcpt = 0x004;
inline constexpr uint32_t kSmfifDelRcpt = 0x008;
inline constexpr uint32_t kSmfifChangeHeaders = 0x010;
inline constexpr uint32_t kSmfifQuarantine = 0x020;
inline constexpr uint32_t kSmfifChangeFrom = 0x040;
inline constexpr uint32_t kSmfifAddRcptWithArgs = 0x080;
inline constexpr uint32_t kSmfifSetSymList = 0x100;

// Protocol steps the milter may leave out or not answer (mfdef.h SMFIP_*).
inline constexpr uint32_t kSmfipNoConnect = 0x00000001;
inline constexpr uint32_t kSmfipNoHelo = 0x00000002;
inline constexpr uint32_t kSmfipNoMail = 0x00000004;
inline constexpr uint32_t kSmfipNoRcpt = 0x00000008;
inline constexpr uint32_t kSmfipNoBody = 0x00000010;
inline constexpr uint32_t kSmfipNoHeaders = 0x00000020;
inline constexpr uint32_t kSmfipNoEoh = 0x00000040;
inline constexpr uint32_t kSmfipNrHeader = 0x00000080;
inline constexpr uint32_t kSmfipNoUnknown = 0x00000100;
inline constexpr uint32_t kSmfipNoData = 0x00000200;
inline constexpr uint32_t kSmfipSkip = 0x00000400;
inline constexpr uint32_t kSmfipRcptRej = 0x00000800;
inline constexpr uint32_t kSmfipNrConnect = 0x00001000;
inline constexpr uint32_t kSmfipNrHelo = 0x00002000;
inline constexpr uint32_t kSmfipNrMail = 0x00004000;
inline constexpr uint32_t kSmfipNrRcpt = 0x00008000;
inline constexpr uint32_t kSmfipNrData = 0x00010000;
inline constexpr uint32_t kSmfipNrUnknown = 0x00020000;
inline constexpr uint32_t kSmfipNrEoh = 0x00040000;
inline constexpr uint32_t kSmfipNrBody = 0x00080000;
inline constexpr uint32_t kSmfipHeaderLeadingSpace = 0x00100000;  // SMFIP_HDR_LEADSPC

using MilterMacro = std::pair<std::string, std::string>;  // name ("j", "{client_addr}"), value

// ---- Encoders (MTA -> milter). Each appends one whole packet to `out`. ----
void encode_milter_packet(std::string& out, char command, std::string_view data);
void encode_optneg(std::string& out, uint32_t version, uint32_t actions, uint32_t protocol);
// encode_macros - SMFIC_MACRO: the stage's command byte, then name\0value\0 pairs.
void encode_macros(std::string& out, char stage, std::span<const MilterMacro> macros);
// encode_connect - hostname\0 family; for '4'/'6' also port (BE) and address\0.
void encode_connect(std::string& out, std::string_view hostname, char family, uint16_t port,
                    std::string_view address);
void encode_helo(std::string& out, std::string_view helo);
// encode_mail / encode_rcpt - args[0] is "<address>", the rest ESMTP parameters.
void encode_mail(std::string& out, std::span<const std::string> args);
void encode_rcpt(std::string& out, std::span<const std::string> args);
void encode_data(std::string& out);
void encode_header(std::string& out, std::string_view name, std::string_view value);
void encode_eoh(std::string& out);
void encode_body(std::string& out, std::string_view chunk);  // chunk.size() <= kMilterChunkSize
void encode_end_of_body(std::string& out);
void encode_abort(std::string& out);
void encode_quit(std::string& out);

// ---- Packet framing (milter -> MTA). ----
struct MilterPacket {
  char command = 0;
  std::string data;
};

class MilterPacketReader {
 public:
  explicit MilterPacketReader(size_t max_packet_bytes) : max_packet_(max_packet_bytes) {}
  // feed - append bytes; call next() until it yields nothing.
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // next - the next complete packet, nullopt when more bytes are needed, or an Error for a
  // zero or oversized length (the stream cannot be resynchronised after that).
  Result<std::optional<MilterPacket>> next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  size_t max_packet_;
  std::string buf_;
  size_t pos_ = 0;  // consumed prefix of buf_, dropped before the next append grows it
};

// ---- Typed replies. ----
struct MilterReply {
  MilterReplyType type = MilterReplyType::kContinue;
  uint32_t version = 0, actions = 0, protocol = 0;  // kOptneg
  uint32_t index = 0;                               // kInsertHeader, kChangeHeader
  std::string name, value;                          // the three header replies
  // kReplyCode: the SMTP reply; kQuarantine: the reason; kReplaceBody: the chunk;
  // kAddRcpt, kAddRcptWithArgs, kDelRcpt, kChangeFrom: the address as sent (may have <>).
  std::string text;
  std::string args;  // kAddRcptWithArgs, kChangeFrom: the ESMTP parameters, "" if none
};

// decode_reply - type a milter packet; checks the data shape of each reply (exact length
// for fixed fields, NUL-terminated strings, nothing after the last field except where the
// protocol allows it). An unknown command byte is an error.
Result<MilterReply> decode_reply(const MilterPacket& packet);

// encode_reply - the inverse of decode_reply (fake milters in tests).
void encode_reply(std::string& out, const MilterReply& reply);

// decode_command - an MTA packet split into its fields (fake milters in tests, tracing).
struct MilterCommandPacket {
  char command = 0;
  uint32_t version = 0, actions = 0, protocol = 0;  // OPTNEG
  char macro_stage = 0;                             // MACRO
  char family = 0;                                  // CONNECT
  uint16_t port = 0;                                // CONNECT
  std::vector<std::string> strings;  // the NUL-terminated fields, in order
  std::string body;                  // BODY, BODYEOB: the raw bytes
};
Result<MilterCommandPacket> decode_command(const MilterPacket& packet);

}  // namespace correo
