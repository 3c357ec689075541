// delivery_types.h - what the scheduler hands to workers and what comes back.
//
// A message with recipients at several next hops becomes several DeliveryJobs (one per
// next hop), each carried by the worker that owns that next hop's queue and connections
// (next hop key hashed over workers). The message's envelope and body are loaded once and
// shared, read-only, by its jobs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "queue/envelope.h"
#include "relay/delivery/route.h"
#include "relay/delivery/smtp_client.h"

namespace correo {

struct MessageForDelivery {
  Envelope envelope;
  std::string body;
};

struct DeliveryJob {
  uint64_t id = 0;
  uint32_t job = 0;  // index among the message's jobs
  NextHop hop;
  std::shared_ptr<const MessageForDelivery> message;
  std::vector<uint32_t> rcpts;  // indices into message->envelope.recipients
};

// DeliveryOutcome - one reply per job recipient. code 0 = no SMTP reply (DNS or connection
// trouble): temporary unless `enhanced` starts with "5" (e.g. 5.1.2 NXDOMAIN, 5.1.10 null MX).
struct DeliveryOutcome {
  uint64_t id = 0;
  uint32_t job = 0;
  std::vector<ServerReply> replies;  // same order as DeliveryJob::rcpts
  std::string remote;                // "mx.example.test[192.0.2.1]:25" of the last server, "" none
  bool peer_dsn = false;             // that server offered DSN (it reports success itself)
  std::string tls;                   // "TLSv1.3 TLS_AES_256_GCM_SHA384 verified=ok", "" = in clear
};

// reply_is_success / reply_is_permanent - how the scheduler reads a reply.
inline bool reply_is_success(const ServerReply& r) { return r.code >= 200 && r.code < 300; }
inline bool reply_is_permanent(const ServerReply& r) {
  return r.code >= 500 || (r.code == 0 && !r.enhanced.empty() && r.enhanced[0] == '5');
}

}  // namespace correo
