// worker_policy.cc - the worker's side of the session's policy questions: domain checks on
// the worker's c-ares channel, greylisting through the greylist service, and the tarpit.
#include <memory>

#include "relay/common/log.h"
#include "relay/policy/greylist.h"
#include "relay/server/worker.h"
#include "relay/server/worker_conn.h"

namespace correo {
namespace {

using Verdict = PolicyAnswer::Verdict;

PolicyAnswer answer(Verdict v, std::string detail = {}) {
  PolicyAnswer a;
  a.verdict = v;
  a.detail = std::move(detail);
  return a;
}

// DomainQuery - one "does this domain accept mail" check. Answers that the resolver has in
// its cache arrive while start_query is still running; those are returned inline.
struct DomainQuery {
  std::string domain;
  bool inline_call = true;
  std::optional<PolicyAnswer> inline_answer;
  std::function<void(const PolicyAnswer&)> later;

  void deliver(PolicyAnswer a) {
    if (inline_call) inline_answer = std::move(a);
    else later(a);
  }
};

}  // namespace

// start_query - RFC 5321 §5.1: a domain accepts mail when it has MX records, or else an
// address record (implicit MX). A null MX (RFC 7505) and NXDOMAIN are permanent; SERVFAIL
// and timeouts are temporary.
bool Worker::Conn::start_query(const PolicyQuery& query, std::optional<PolicyAnswer>& now) {
  Worker& w = *worker;
  if (query.kind == PolicyQuery::Kind::kGreylist) {
    GreylistService* g = w.services_.policy ? w.services_.policy->greylist() : nullptr;
    auto ip = IpAddress::parse(session->client_ip());
    if (!g || !ip) return false;
    GreylistRequest r;
    r.worker = w.index_;
    r.cookie = tag(Op::kIgnore).pack();
    r.client = *ip;
    r.sender = query.sender;
    r.recipient = query.recipient;
    return g->submit(r);
  }
  const Tag t = tag(Op::kIgnore);
  auto q = std::make_shared<DomainQuery>();
  q->domain = query.domain;
  q->later = [&w, t](const PolicyAnswer& a) {
    Conn* c = w.lookup(t);
    if (!c || c->closing) return;
    c->session->on_policy_answer(a);
    w.service(*c);
  };
  Resolver& resolver = w.outbound_->resolver();
  resolver.resolve_mx(query.domain, [q, &resolver](const MxAnswer& mx) {
    switch (mx.status) {
      case DnsStatus::kOk:
        if (!mx.hosts.empty() && mx.hosts.front().name != q->domain) return q->deliver(answer(Verdict::kPass));
        // No MX (implicit MX = the domain itself), or an MX naming the domain: needs an address.
        resolver.resolve_host(q->domain, [q](const AddressAnswer& a) {
          if (a.status == DnsStatus::kOk) return q->deliver(answer(Verdict::kPass));
          if (a.status == DnsStatus::kTempFail) return q->deliver(answer(Verdict::kTempFail, a.error));
          q->deliver(answer(Verdict::kPermFail, "no MX or address records"));
        });
        return;
      case DnsStatus::kNullMx:
        return q->deliver(answer(Verdict::kNullMx, "null MX"));
      case DnsStatus::kNxDomain:
      case DnsStatus::kNoData:
        return q->deliver(answer(Verdict::kPermFail, mx.error));
      case DnsStatus::kTempFail:
        return q->deliver(answer(Verdict::kTempFail, mx.error));
    }
  });
  q->inline_call = false;
  if (q->inline_answer) now = std::move(q->inline_answer);
  return true;
}

// start_milters - the runner copies the message; its answer comes back to this session
// (or to nobody, when the client left meanwhile: the slot's generation moved on).
bool Worker::Conn::start_milters(const MilterRequest& request) {
  Worker& w = *worker;
  const Tag t = tag(Op::kIgnore);
  auto inline_call = std::make_shared<bool>(true);
  w.milters_->start(request, [&w, t, inline_call](MilterOutcome outcome) {
    Conn* c = w.lookup(t);
    if (!c || c->closing) return;
    c->session->on_milter_result(std::move(outcome));
    if (!*inline_call) w.service(*c);  // inline: the session is still inside its own call
  });
  *inline_call = false;
  return true;
}

// take_greylist_results - verdicts for sessions waiting at RCPT; a session that went away
// meanwhile has a new generation and its verdict is dropped.
void Worker::take_greylist_results() {
  GreylistService* g = services_.policy ? services_.policy->greylist() : nullptr;
  if (!g) return;
  GreylistResult result;
  while (g->pop_result(index_, result)) {
    Conn* c = lookup(Tag::unpack(result.cookie));
    if (!c || c->closing) continue;
    PolicyAnswer a;
    if (result.verdict == GreylistVerdict::kDefer && !result.error) {
      a.verdict = Verdict::kGreylisted;
      a.retry_after = static_cast<uint32_t>(result.retry_after.count());
    }
    c->session->on_policy_answer(a);
    service(*c);
  }
}

// hold_for_tarpit - true while the session's error reply must wait (nothing sent or read).
bool Worker::hold_for_tarpit(Conn& c) {
  if (c.session->take_tarpit()) {
    const Duration delay = services_.policy ? config_->policy.tarpit_delay : Duration(0);
    c.tarpit_until = Clock::now() + delay;
  }
  return c.tarpit_until != Clock::time_point{};
}

void Worker::tarpit_tick(Conn& c, Clock::time_point now) {
  if (now < c.tarpit_until) return;
  c.tarpit_until = {};
  c.session->end_tarpit();
  service(c);
}

}  // namespace correo
