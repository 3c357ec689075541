// resolver.cc - MX and address lookups on a c-ares channel that the worker's event loop drives.
//
// Thread rules: a Resolver and its channel belong to one worker thread. c-ares runs no thread of
// its own here: ARES_OPT_SOCK_STATE_CB tells the worker (DnsEventSink::watch) which sockets to
// wait on, the worker calls on_fd_event() when they are ready and on_tick() for timeouts, and
// every callback (c-ares' and the caller's `done`) runs inside those calls or inside resolve_*().
// The sink must outlive the Resolver: ares_destroy() reports the sockets it closes.
// A `done` callback may start new lookups, but must not destroy the Resolver (it runs inside
// ares_process_fd()); destroy it from the event loop instead.
//
// Standards:
//   RFC 5321 §5.1 - MX records sorted by preference, equal preferences in random order; no MX
//                   records -> an implicit MX naming the domain itself at preference 0;
//                   temporary DNS errors defer the message rather than bounce it.
//   RFC 7505      - a null MX ("0 .") means the domain accepts no mail: kNullMx.
//   RFC 2181 §5.2, §8 - cache by the smallest TTL of the answer; MSB-set TTL is 0 (answer_ttl.h).
//   RFC 2308      - negative answers (NXDOMAIN, NODATA) are cached too, here for kNegativeTtl.
//
// Names are treated as fully qualified: queries go out as "name." via ares_query(), which never
// applies search domains, and the channel has ARES_FLAG_NOSEARCH and no domain list besides, so
// "example.test" can never become "example.test.localdomain".
//
// Limits: the cache holds at most options.cache_entries answers (dns_cache.h); at most
// kMaxAddressesPerFamily addresses are kept per A or AAAA answer; no TTL beyond kMaxDnsTtl.
#include "dns/resolver.h"

#include <ares.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <exception>
#include <mutex>
#include <random>
#include <utility>

#include "dns/answer_ttl.h"
#include "dns/dns_cache.h"
#include "relay/common/log.h"

namespace correo {
namespace {

// DNS wire constants (RFC 1035 §3.2.2, §3.2.4; RFC 3596 for AAAA).
constexpr int kClassIn = 1;
constexpr int kTypeA = 1;
constexpr int kTypeMx = 15;
constexpr int kTypeAaaa = 28;

// How long NXDOMAIN and NODATA answers are cached. RFC 2308 would take the SOA minimum from the
// authority section; a fixed minute is simpler and short enough that a fixed zone is seen soon.
constexpr std::chrono::seconds kNegativeTtl{60};

// Addresses kept per family: more than enough for any MX host (a relay tries a handful).
constexpr int kMaxAddressesPerFamily = 32;

constexpr size_t kMaxNameLength = 253;  // RFC 1035 §2.3.4: 255 octets on the wire
constexpr size_t kMaxLabelLength = 63;

std::once_flag g_ares_once;
int g_ares_init_status = ARES_SUCCESS;

// init_ares_library - ares_library_init exactly once per process, whichever worker comes first.
int init_ares_library() {
  std::call_once(g_ares_once, [] { g_ares_init_status = ares_library_init(ARES_LIB_INIT_ALL); });
  return g_ares_init_status;
}

// ares_code_name - the DNS-flavoured name of a c-ares status, for logs and DSN diagnostics.
const char* ares_code_name(int status) {
  switch (status) {
    case ARES_SUCCESS: return "NOERROR";
    case ARES_ENODATA: return "NODATA";
    case ARES_EFORMERR: return "FORMERR";
    case ARES_ESERVFAIL: return "SERVFAIL";
    case ARES_ENOTFOUND: return "NXDOMAIN";
    case ARES_ENOTIMP: return "NOTIMP";
    case ARES_EREFUSED: return "REFUSED";
    case ARES_EBADQUERY: return "BADQUERY";
    case ARES_EBADNAME: return "BADNAME";
    case ARES_EBADRESP: return "BADRESP";
    // c-ares 1.18 drops SERVFAIL/REFUSED/NOTIMP replies so it can retry and fail over to the
    // next server (we keep that: no ARES_FLAG_NOCHECKRESP); when every try got one, or no
    // server was reachable, the query ends with ECONNREFUSED. Say so, for the DSN reader.
    case ARES_ECONNREFUSED: return "SERVFAIL/REFUSED/unreachable";
    case ARES_ETIMEOUT: return "TIMEOUT";
    case ARES_EOF: return "EOF";
    case ARES_ENOMEM: return "NOMEM";
    case ARES_EDESTRUCTION: return "DESTRUCTION";
    case ARES_ECANCELLED: return "CANCELLED";
    default: return "ERROR";
  }
}

// describe_failure - e.g. "SERVFAIL looking up MX for x.test (Server failed to process query)".
std::string describe_failure(int status, const char* what, const std::string& name) {
  std::string s = ares_code_name(status);
  s += " looking up ";
  s += what;
  s += " for ";
  s += name;
  s += " (";
  s += ares_strerror(status);
  s += ")";
  return s;
}

// normalize_name - ASCII lower case without the trailing dot: the cache key and the answer form.
std::string normalize_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// valid_name - non-empty, at most 253 octets, labels of 1..63 octets (RFC 1035 §2.3.4).
bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (++label > kMaxLabelLength) {
      return false;
    }
  }
  return label != 0;
}

bool is_temporary(int status) {
  return status != ARES_SUCCESS && status != ARES_ENODATA && status != ARES_ENOTFOUND;
}

// One address family's share of a resolve_host() lookup.
struct FamilyResult {
  int status = ARES_ENODATA;
  std::vector<IpAddress> addresses;
  std::chrono::seconds ttl{0};
};

// parse_family - addresses and TTL from an A or AAAA response; status becomes ENODATA when the
// answer holds no address of that family (e.g. only a CNAME).
FamilyResult parse_family(int status, const unsigned char* abuf, int alen, bool v6) {
  FamilyResult r;
  r.status = status;
  if (status != ARES_SUCCESS) return r;
  int n = kMaxAddressesPerFamily;
  int rc;
  if (v6) {
    ares_addr6ttl ttls[kMaxAddressesPerFamily];
    rc = ares_parse_aaaa_reply(abuf, alen, nullptr, ttls, &n);
    for (int i = 0; rc == ARES_SUCCESS && i < n; ++i) {
      IpAddress a;
      a.v6 = true;
      static_assert(sizeof(ttls[i].ip6addr) == 16);
      std::memcpy(a.bytes.data(), &ttls[i].ip6addr, 16);
      r.addresses.push_back(a);
    }
  } else {
    ares_addrttl ttls[kMaxAddressesPerFamily];
    rc = ares_parse_a_reply(abuf, alen, nullptr, ttls, &n);
    for (int i = 0; rc == ARES_SUCCESS && i < n; ++i) {
      IpAddress a;
      std::memcpy(a.bytes.data(), &ttls[i].ipaddr, 4);
      r.addresses.push_back(a);
    }
  }
  if (rc != ARES_SUCCESS) {
    r.status = rc;
    r.addresses.clear();
  } else if (r.addresses.empty()) {
    r.status = ARES_ENODATA;
  }
  if (r.status == ARES_SUCCESS) {
    r.ttl = min_answer_ttl(abuf, static_cast<size_t>(alen)).value_or(std::chrono::seconds(0));
  }
  return r;
}

}  // namespace

const char* to_string(DnsStatus s) {
  switch (s) {
    case DnsStatus::kOk: return "ok";
    case DnsStatus::kNxDomain: return "nxdomain";
    case DnsStatus::kNoData: return "nodata";
    case DnsStatus::kNullMx: return "null_mx";
    case DnsStatus::kTempFail: return "tempfail";
  }
  return "unknown";
}

struct Resolver::Impl {
  // A pending resolve_mx(); owned by c-ares (the callback arg) until on_mx_reply deletes it.
  struct MxQuery {
    Impl* impl;
    std::string domain;
    std::function<void(const MxAnswer&)> done;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  };
  // A pending resolve_host(): two ares_query calls share it; the last reply deletes it.
  struct HostQuery {
    Impl* impl;
    std::string host;
    std::function<void(const AddressAnswer&)> done;
    int pending = 2;
    FamilyResult v4;
    FamilyResult v6;
    bool a_only = false;  // resolve_a(): no AAAA query; v6 stays "no data"
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  };

  Impl(DnsEventSink& sink, size_t cache_entries, uint32_t seed, DnsMetrics* metrics)
      : sink_(sink), cache_(cache_entries), rng_(seed), m_(metrics ? *metrics : own_metrics_) {}

  void count_lookup(DnsType type) { m_.lookups[static_cast<size_t>(type)].add(); }
  void observe_latency(std::chrono::steady_clock::time_point started) {
    m_.duration.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }

  // ~Impl - ares_destroy() runs every pending callback with ARES_EDESTRUCTION; destroying_ makes
  // them free their query without calling the caller's `done` (which may point at torn-down state).
  ~Impl() {
    destroying_ = true;
    if (channel_ != nullptr) ares_destroy(channel_);
  }

  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable);
  static void on_mx_reply(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  static void on_a_reply(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  static void on_aaaa_reply(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

  void finish_mx(MxQuery& q, int status, const unsigned char* abuf, int alen);
  void finish_host(HostQuery& q);
  void deliver_mx(MxAnswer answer, const std::function<void(const MxAnswer&)>& done);
  void deliver_host(const AddressAnswer& answer, const std::function<void(const AddressAnswer&)>& done);
  void shuffle_equal_preferences(std::vector<MxHost>& hosts);

  DnsEventSink& sink_;
  ares_channel channel_ = nullptr;
  DnsCache cache_;
  std::mt19937 rng_;
  DnsMetrics own_metrics_;
  DnsMetrics& m_;
  bool destroying_ = false;
};

// on_sock_state - c-ares opened, re-armed or is closing a socket: tell the worker.
void Resolver::Impl::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
  try {
    static_cast<Impl*>(data)->sink_.watch(fd, readable != 0, writable != 0);
  } catch (const std::exception& e) {  // never unwind through c-ares' C frames
    LogLine(LogLevel::kError, "dns_callback_exception").kv("where", "watch").kv("what", e.what());
  } catch (...) {
    LogLine(LogLevel::kError, "dns_callback_exception").kv("where", "watch");
  }
}

// on_mx_reply - c-ares finished (or abandoned) an MX query.
void Resolver::Impl::on_mx_reply(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                                 int alen) {
  std::unique_ptr<MxQuery> q(static_cast<MxQuery*>(arg));
  if (status == ARES_EDESTRUCTION || q->impl->destroying_) return;
  try {
    q->impl->finish_mx(*q, status, abuf, alen);
  } catch (const std::exception& e) {
    LogLine(LogLevel::kError, "dns_callback_exception").kv("where", "mx").kv("what", e.what());
  } catch (...) {
    LogLine(LogLevel::kError, "dns_callback_exception").kv("where", "mx");
  }
}

// finish_mx - turn the MX response into an answer (RFC 5321 §5.1, RFC 7505), cache, deliver.
void Resolver::Impl::finish_mx(MxQuery& q, int status, const unsigned char* abuf, int alen) {
  observe_latency(q.started);
  MxAnswer answer;
  std::chrono::seconds ttl{0};
  if (status == ARES_SUCCESS) {
    ares_mx_reply* mx = nullptr;
    status = ares_parse_mx_reply(abuf, alen, &mx);
    if (status == ARES_SUCCESS) {
      for (const ares_mx_reply* r = mx; r != nullptr; r = r->next) {
        std::string host = normalize_name(r->host != nullptr ? r->host : "");
        if (host.empty()) continue;  // target "." (the root): no host to deliver to
        answer.hosts.push_back(MxHost{std::move(host), r->priority});
      }
      ares_free_data(mx);
      ttl = min_answer_ttl(abuf, static_cast<size_t>(alen)).value_or(std::chrono::seconds(0));
      if (answer.hosts.empty()) {
        // RFC 7505 §3: a single "0 ." record. Any all-root answer leaves nowhere to deliver, so
        // it is treated the same way; root targets mixed with real hosts are just skipped.
        answer.status = DnsStatus::kNullMx;
        answer.error = q.domain + " does not accept mail (null MX, RFC 7505)";
      } else {
        answer.status = DnsStatus::kOk;
        std::stable_sort(answer.hosts.begin(), answer.hosts.end(),
                         [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
      }
    }
  }
  if (status == ARES_ENODATA) {
    // RFC 5321 §5.1: no MX records -> the domain itself is the implicit MX, preference 0.
    answer.status = DnsStatus::kOk;
    answer.hosts = {MxHost{q.domain, 0}};
    ttl = kNegativeTtl;
  } else if (status == ARES_ENOTFOUND) {
    answer.status = DnsStatus::kNxDomain;
    answer.error = describe_failure(status, "MX", q.domain);
    ttl = kNegativeTtl;
  } else if (status != ARES_SUCCESS) {
    answer.status = DnsStatus::kTempFail;  // SERVFAIL, REFUSED, timeouts: never cached
    answer.error = describe_failure(status, "MX", q.domain);
  }
  if (answer.status != DnsStatus::kTempFail) cache_.insert("MX:" + q.domain, answer, ttl);
  deliver_mx(std::move(answer), q.done);
}

// shuffle_equal_preferences - RFC 5321 §5.1: spread load over MX hosts of equal preference.
void Resolver::Impl::shuffle_equal_preferences(std::vector<MxHost>& hosts) {
  auto begin = hosts.begin();
  while (begin != hosts.end()) {
    auto end = std::find_if(begin, hosts.end(),
                            [&](const MxHost& h) { return h.preference != begin->preference; });
    if (end - begin > 1) std::shuffle(begin, end, rng_);
    begin = end;
  }
}

// deliver_mx - shuffle (fresh and cached answers alike), count, log, call `done`. Touches nothing
// after `done`: the caller may start another lookup from it.
void Resolver::Impl::deliver_mx(MxAnswer answer, const std::function<void(const MxAnswer&)>& done) {
  if (answer.status == DnsStatus::kOk) shuffle_equal_preferences(answer.hosts);
  if (answer.status == DnsStatus::kTempFail) {
    m_.failures.add();
    LogLine(LogLevel::kInfo, "dns_temp_failure").kv("type", "MX").kv("error", answer.error);
  }
  if (done) done(answer);
}

// on_a_reply / on_aaaa_reply - one half of a resolve_host() lookup came back.
void Resolver::Impl::on_a_reply(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                                int alen) {
  auto* q = static_cast<HostQuery*>(arg);
  try {
    q->v4 = parse_family(status, abuf, alen, false);
  } catch (...) {  // out of memory: still count the reply, or the query would leak
    q->v4 = FamilyResult{ARES_ENOMEM, {}, {}};
  }
  q->impl->finish_host(*q);
}

void Resolver::Impl::on_aaaa_reply(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                                   int alen) {
  auto* q = static_cast<HostQuery*>(arg);
  try {
    q->v6 = parse_family(status, abuf, alen, true);
  } catch (...) {
    q->v6 = FamilyResult{ARES_ENOMEM, {}, {}};
  }
  q->impl->finish_host(*q);
}

// finish_host - when both A and AAAA are in, merge (IPv4 first), cache, deliver, free the query.
void Resolver::Impl::finish_host(HostQuery& query) {
  if (--query.pending > 0) return;
  observe_latency(query.started);
  std::unique_ptr<HostQuery> q(&query);
  if (destroying_ || q->v4.status == ARES_EDESTRUCTION || q->v6.status == ARES_EDESTRUCTION) return;
  try {
    AddressAnswer answer;
    answer.addresses = q->v4.addresses;
    answer.addresses.insert(answer.addresses.end(), q->v6.addresses.begin(), q->v6.addresses.end());
    const bool temp4 = is_temporary(q->v4.status);
    const bool temp6 = is_temporary(q->v6.status);
    std::chrono::seconds ttl{0};
    if (!answer.addresses.empty()) {
      // One family is enough to deliver. If the other failed temporarily the answer is
      // incomplete, so it is used but not cached.
      answer.status = DnsStatus::kOk;
      if (!temp4 && !temp6) {
        const auto part_ttl = [](const FamilyResult& f) {
          return f.status == ARES_SUCCESS ? f.ttl : kNegativeTtl;
        };
        ttl = q->a_only ? part_ttl(q->v4) : std::min(part_ttl(q->v4), part_ttl(q->v6));
      } else {
        LogLine(LogLevel::kInfo, "dns_partial_answer")
            .kv("host", q->host)
            .kv("error", describe_failure(temp4 ? q->v4.status : q->v6.status,
                                          temp4 ? "A" : "AAAA", q->host));
      }
    } else if (temp4 || temp6) {
      answer.status = DnsStatus::kTempFail;
      answer.error = describe_failure(temp4 ? q->v4.status : q->v6.status, temp4 ? "A" : "AAAA",
                                      q->host);
    } else if (q->v4.status == ARES_ENOTFOUND || q->v6.status == ARES_ENOTFOUND) {
      answer.status = DnsStatus::kNxDomain;
      answer.error = describe_failure(ARES_ENOTFOUND, "A/AAAA", q->host);
      ttl = kNegativeTtl;
    } else {
      answer.status = DnsStatus::kNoData;
      answer.error = "no A or AAAA records for " + q->host;
      ttl = kNegativeTtl;
    }
    if (answer.status != DnsStatus::kTempFail) cache_.insert((q->a_only ? "A:" : "HOST:") + q->host, answer, ttl);
    deliver_host(answer, q->done);
  } catch (const std::exception& e) {
    LogLine(LogLevel::kError, "dns_callback_exception").kv("where", "host").kv("what", e.what());
  } catch (...) {
    LogLine(LogLevel::kError, "dns_callback_exception").kv("where", "host");
  }
}

// deliver_host - count, log, call `done`; touches nothing afterwards.
void Resolver::Impl::deliver_host(const AddressAnswer& answer,
                                  const std::function<void(const AddressAnswer&)>& done) {
  if (answer.status == DnsStatus::kTempFail) {
    m_.failures.add();
    LogLine(LogLevel::kInfo, "dns_temp_failure").kv("type", "A/AAAA").kv("error", answer.error);
  }
  if (done) done(answer);
}

Resolver::Resolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Resolver::~Resolver() = default;

// create - initialise c-ares once, then a channel whose sockets the sink watches.
Result<std::unique_ptr<Resolver>> Resolver::create(const ResolverOptions& options,
                                                   DnsEventSink& sink) {
  if (options.timeout.count() <= 0 || options.timeout.count() > INT_MAX) {
    return Error{"dns: timeout must be positive, got " + std::to_string(options.timeout.count()) + "ms"};
  }
  if (options.tries < 1) {
    return Error{"dns: tries must be at least 1, got " + std::to_string(options.tries)};
  }
  std::string csv;
  for (const std::string& s : options.servers) {
    if (s.empty() || s.find_first_of(", \t\r\n") != std::string::npos) {
      return Error{"dns: bad server \"" + s + "\" (want 10.0.0.1, 127.0.0.1:5353 or [::1]:53)"};
    }
    if (!csv.empty()) csv += ',';
    csv += s;
  }
  if (const int rc = init_ares_library(); rc != ARES_SUCCESS) {
    return Error{std::string("dns: ares_library_init failed: ") + ares_strerror(rc)};
  }

  uint32_t seed;
  try {
    seed = std::random_device{}();
  } catch (...) {  // no entropy source: shuffling only spreads load, the clock will do
    seed = static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  auto impl = std::make_unique<Impl>(sink, options.cache_entries, seed, options.metrics);

  ares_options opts{};
  int mask = 0;
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;  // names are FQDNs, never expanded
  mask |= ARES_OPT_FLAGS;
  opts.timeout = static_cast<int>(options.timeout.count());
  mask |= ARES_OPT_TIMEOUTMS;
  opts.tries = options.tries;
  mask |= ARES_OPT_TRIES;
  opts.ndots = 1;
  mask |= ARES_OPT_NDOTS;
  opts.domains = nullptr;  // no search list, whatever resolv.conf says
  opts.ndomains = 0;
  mask |= ARES_OPT_DOMAINS;
  opts.sock_state_cb = &Impl::on_sock_state;
  opts.sock_state_cb_data = impl.get();
  mask |= ARES_OPT_SOCK_STATE_CB;
  if (const int rc = ares_init_options(&impl->channel_, &opts, mask); rc != ARES_SUCCESS) {
    impl->channel_ = nullptr;
    return Error{std::string("dns: ares_init_options failed: ") + ares_strerror(rc)};
  }
  if (!csv.empty()) {
    if (const int rc = ares_set_servers_ports_csv(impl->channel_, csv.c_str()); rc != ARES_SUCCESS) {
      return Error{"dns: cannot use servers \"" + csv + "\": " + ares_strerror(rc)};
    }
  }
  return std::unique_ptr<Resolver>(new Resolver(std::move(impl)));
}

// resolve_mx - cached answer now, or an MX query whose answer arrives via on_fd_event/on_tick.
void Resolver::resolve_mx(std::string_view domain_in, std::function<void(const MxAnswer&)> done) {
  Impl& impl = *impl_;
  std::string domain = normalize_name(domain_in);
  if (!valid_name(domain)) {
    MxAnswer answer;
    answer.status = DnsStatus::kNxDomain;  // permanent: no query could ever succeed
    answer.error = "invalid domain name \"" + domain + "\"";
    impl.deliver_mx(std::move(answer), done);
    return;
  }
  if (const DnsCache::Value* hit = impl.cache_.find("MX:" + domain)) {
    if (const auto* cached = std::get_if<MxAnswer>(hit)) {
      impl.m_.cache_hits.add();
      impl.deliver_mx(*cached, done);  // a copy: `done` may evict the entry
      return;
    }
  }
  impl.count_lookup(DnsType::kMx);
  auto* q = new Impl::MxQuery{&impl, domain, std::move(done)};
  const std::string fqdn = domain + ".";
  ares_query(impl.channel_, fqdn.c_str(), kClassIn, kTypeMx, &Impl::on_mx_reply, q);
  // q may already be gone (c-ares can fail synchronously); do not touch it here.
}

// resolve_host - IP literal or cached answer now, else A and AAAA queries in parallel.
void Resolver::resolve_host(std::string_view host_in,
                            std::function<void(const AddressAnswer&)> done) {
  Impl& impl = *impl_;
  if (auto literal = IpAddress::parse(host_in)) {
    AddressAnswer answer;
    answer.status = DnsStatus::kOk;
    answer.addresses.push_back(*literal);
    impl.deliver_host(answer, done);
    return;
  }
  std::string host = normalize_name(host_in);
  if (!valid_name(host)) {
    AddressAnswer answer;
    answer.status = DnsStatus::kNxDomain;
    answer.error = "invalid host name \"" + host + "\"";
    impl.deliver_host(answer, done);
    return;
  }
  if (const DnsCache::Value* hit = impl.cache_.find("HOST:" + host)) {
    if (const auto* cached = std::get_if<AddressAnswer>(hit)) {
      impl.m_.cache_hits.add();
      const AddressAnswer copy = *cached;  // `done` may evict the entry
      impl.deliver_host(copy, done);
      return;
    }
  }
  impl.count_lookup(DnsType::kA);  // one A and one AAAA query
  impl.count_lookup(DnsType::kAaaa);
  auto* q = new Impl::HostQuery{&impl, host, std::move(done), 2, {}, {}};
  const std::string fqdn = host + ".";
  // pending == 2 covers both calls, so a synchronous failure of the first cannot free q early;
  // after the second call q may be gone.
  ares_query(impl.channel_, fqdn.c_str(), kClassIn, kTypeA, &Impl::on_a_reply, q);
  ares_query(impl.channel_, fqdn.c_str(), kClassIn, kTypeAaaa, &Impl::on_aaaa_reply, q);
}

// resolve_a - A records only (DNSBL zones answer nothing else, RFC 5782): one query.
void Resolver::resolve_a(std::string_view name_in, std::function<void(const AddressAnswer&)> done) {
  Impl& impl = *impl_;
  std::string name = normalize_name(name_in);
  if (!valid_name(name)) {
    AddressAnswer answer;
    answer.status = DnsStatus::kNxDomain;
    answer.error = "invalid name \"" + name + "\"";
    impl.deliver_host(answer, done);
    return;
  }
  if (const DnsCache::Value* hit = impl.cache_.find("A:" + name)) {
    if (const auto* cached = std::get_if<AddressAnswer>(hit)) {
      impl.m_.cache_hits.add();
      const AddressAnswer copy = *cached;  // `done` may evict the entry
      impl.deliver_host(copy, done);
      return;
    }
  }
  impl.count_lookup(DnsType::kA);
  auto* q = new Impl::HostQuery{&impl, name, std::move(done), 1, {}, {}, true};
  const std::string fqdn = name + ".";
  ares_query(impl.channel_, fqdn.c_str(), kClassIn, kTypeA, &Impl::on_a_reply, q);
}

void Resolver::on_fd_event(int fd, bool readable, bool writable) {
  ares_process_fd(impl_->channel_, readable ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD);
}

void Resolver::on_tick() { ares_process_fd(impl_->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD); }

ResolverStats Resolver::stats() const {
  const DnsMetrics& m = impl_->m_;
  ResolverStats s;
  for (const Counter& c : m.lookups) s.lookups += c.value();
  s.cache_hits = m.cache_hits.value();
  s.failures = m.failures.value();
  return s;
}

}  // namespace correo
