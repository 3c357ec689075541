// worker_screen.cc - connection screening before the greeting, like Postfix's postscreen:
// client allow/deny lists, connection limits and rates, the pregreet test and DNSBL/DNSWL
// scoring.
//
// Order: allowlisted clients skip everything else; denylisted ones get a 554 greeting; then
// the limits (421, nothing else is spent on such a client); then, when the pregreet test or
// DNSBL sites apply, the greeting is held: for greet_delay the socket is read, and a client
// that talks first gets 554 5.5.1; meanwhile the DNSBL zones are asked through the worker's
// c-ares channel (answers cached by their TTL). The greeting goes out once the delay is over
// and every zone answered (or policy.dnsbl.timeout passed: an unanswered zone scores 0).
// smtps listeners are screened by access lists and limits only: their first bytes are TLS.
#include <algorithm>

#include "relay/common/log.h"
#include "relay/policy/dnsbl_site.h"
#include "relay/server/worker.h"
#include "relay/server/worker_conn.h"

namespace correo {
namespace {

bool on(const ListenerConfig& l, Check c) { return l.checks.test(static_cast<size_t>(c)); }

void log_reject(const std::string& client, std::string_view check, std::string_view reply) {
  LogLine(LogLevel::kInfo, "reject").kv("client", client).kv("check", check).kv("reply", reply);
}

}  // namespace

void Worker::screen(Conn& c, const ListenerConfig& listener) {
  Session& s = *c.session;
  Policy* policy = services_.policy;
  const bool smtps = listener.mode == ListenerMode::kSmtps;
  const auto start = [&] {
    if (smtps) {
      // RFC 8314: TLS from the first byte; the greeting is sent once the handshake is done.
      c.implicit_tls = true;
      if (!begin_tls(c)) return begin_close(c);
    } else {
      s.start();
    }
    service(c);
  };
  // refuse_quietly - on smtps nothing may leave in clear: a refused client is just closed.
  const auto refuse_quietly = [&] {
    s.on_peer_closed();
    begin_close(c);
  };
  std::optional<IpAddress> ip = IpAddress::parse(s.client_ip());
  if (!policy || !ip) return start();
  const std::string& client = s.client_ip();

  if (on(listener, Check::kClientAccess)) {
    if (Policy::allowlisted(config_->policy, *ip)) {
      s.set_allowlisted();
      return start();
    }
    if (Policy::denylisted(config_->policy, *ip)) {
      policy->count(reason_index(Check::kClientAccess));
      const std::string text = "Service unavailable; client [" + client + "] denied by policy";
      log_reject(client, "client_access", "554 5.7.1 " + text);
      if (smtps) return refuse_quietly();
      s.start_refusing("5.7.1", text);
      return service(c);
    }
  }

  const bool limit = on(listener, Check::kConnectionLimit);
  const bool rate = on(listener, Check::kConnectionRate);
  const Policy::Admission admission =
      policy->acquire_connection(config_->policy, client, limit, rate, Clock::now(), c.admission);
  if (admission != Policy::Admission::kOk) {
    const bool by_rate = admission == Policy::Admission::kRateExceeded;
    const std::string text = admission == Policy::Admission::kTooManyTotal
                                 ? config_->server.hostname + " Error: too many connections, try again later"
                                 : by_rate ? "Error: too many connections from [" + client + "], slow down"
                                           : "Error: too many connections from [" + client + "]";
    policy->count(reason_index(by_rate ? Check::kConnectionRate : Check::kConnectionLimit));
    log_reject(client, by_rate ? "connection_rate" : "connection_limit", "421 4.7.0 " + text);
    if (smtps) return refuse_quietly();
    s.refuse("4.7.0", text);
    return service(c);
  }

  const Clock::time_point now = Clock::now();
  const bool trusted = std::any_of(config_->relay.networks.begin(), config_->relay.networks.end(),
                                   [&](const Cidr& n) { return n.contains(*ip); });
  c.pregreet = !smtps && !trusted && on(listener, Check::kPregreet) && config_->policy.greet_delay.count() > 0;
  const bool dnsbl = !smtps && !trusted && on(listener, Check::kDnsbl) && !dnsbl_zones_.empty();
  if (!c.pregreet && !dnsbl) return start();
  c.screening = true;
  c.greet_at = now + (c.pregreet ? config_->policy.greet_delay : Duration(0));
  c.screen_deadline = std::max(c.greet_at, now + config_->policy.dnsbl.timeout);
  if (dnsbl) start_dnsbl(c, *ip);
  if (c.screening) service(c);  // arms the pregreet read
}

// start_dnsbl - one A query per distinct zone; cached answers come back inline.
void Worker::start_dnsbl(Conn& c, const IpAddress& ip) {
  c.dnsbl_starting = true;
  c.dnsbl_pending = static_cast<uint16_t>(dnsbl_zones_.size());
  const Tag tag = c.tag(Op::kIgnore);
  for (size_t z = 0; z < dnsbl_zones_.size(); ++z) {
    outbound_->resolver().resolve_a(dnsbl_query_name(ip, dnsbl_zones_[z]),
                                       [this, tag, z](const AddressAnswer& a) { on_dnsbl_answer(tag, z, a); });
  }
  c.dnsbl_starting = false;
  if (c.dnsbl_pending == 0 && Clock::now() >= c.greet_at) finish_screening(c);
}

// on_dnsbl_answer - add the weights of the sites whose filter matches an answer (RFC 5782:
// a listing is an A record, normally in 127.0.0.0/8; NXDOMAIN = not listed).
void Worker::on_dnsbl_answer(Tag tag, size_t zone, const AddressAnswer& answer) {
  Conn* c = lookup(tag);
  if (!c || c->closing || !c->screening || c->dnsbl_pending == 0) return;
  --c->dnsbl_pending;
  if (answer.status == DnsStatus::kOk) {
    for (const DnsblSite* site : dnsbl_sites_by_zone_[zone]) {
      const bool hit = std::any_of(answer.addresses.begin(), answer.addresses.end(),
                                   [&](const IpAddress& a) { return site->matches(a); });
      if (!hit) continue;
      c->dnsbl_score += site->weight;
      if (site->weight > 0 && c->dnsbl_zones.find(site->zone) == std::string::npos) {
        if (!c->dnsbl_zones.empty()) c->dnsbl_zones += ", ";
        c->dnsbl_zones += site->zone;
      }
    }
  } else if (answer.status == DnsStatus::kTempFail) {
    LogLine(LogLevel::kDebug, "dnsbl_lookup_failed").kv("client", c->session->client_ip()).kv("zone", dnsbl_zones_[zone])
        .kv("error", answer.error);
  }
  if (!c->dnsbl_starting && c->dnsbl_pending == 0 && Clock::now() >= c->greet_at) finish_screening(*c);
}

void Worker::screen_tick(Conn& c, Clock::time_point now) {
  if (shutting_down_) {
    c.screening = false;
    c.session->on_shutdown();
    return service(c);
  }
  if (now >= c.screen_deadline || (now >= c.greet_at && c.dnsbl_pending == 0)) finish_screening(c);
}

// finish_screening - greet, or refuse with the zones that listed the client.
void Worker::finish_screening(Conn& c) {
  c.screening = false;
  Session& s = *c.session;
  Policy* policy = services_.policy;
  if (c.dnsbl_pending) {
    LogLine(LogLevel::kInfo, "dnsbl_timeout").kv("client", s.client_ip()).kv("unanswered", static_cast<unsigned>(c.dnsbl_pending));
    c.dnsbl_pending = 0;
  }
  if (policy && !c.dnsbl_zones.empty() && c.dnsbl_score >= config_->policy.dnsbl.threshold) {
    policy->count(reason_index(Check::kDnsbl));
    const std::string text = "Service unavailable; client [" + s.client_ip() + "] blocked using " + c.dnsbl_zones;
    LogLine(LogLevel::kInfo, "reject").kv("client", s.client_ip()).kv("check", "dnsbl").kv("reply", "554 5.7.1 " + text)
        .kv("score", static_cast<int64_t>(c.dnsbl_score));
    s.start_refusing("5.7.1", text);
  } else {
    s.start();
  }
  service(c);
}

void Worker::release_admission(Conn& c) {
  if (services_.policy && c.session) services_.policy->release_connection(c.session->client_ip(), c.admission);
  c.admission = {};
}

}  // namespace correo
