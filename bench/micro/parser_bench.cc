// parser_bench.cc - the SMTP command and address parsers, the work every pipelined command
// line costs a worker before any policy or I/O.
//
// BM_CommandMix: one transaction's command lines (EHLO, MAIL with ESMTP parameters, three
// RCPT with DSN parameters, DATA, NOOP, RSET) through split_command and, for MAIL/RCPT,
// parse_mail/parse_rcpt - items/s is command lines per second.
// BM_ParsePath/<form>: parse_path alone on the address forms clients send.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "relay/smtp/address.h"
#include "relay/smtp/command.h"

namespace correo {
namespace {

const std::vector<std::string> kTransaction = {
    "EHLO client.example.org",
    "MAIL FROM:<sender.name@example.org> SIZE=10240 BODY=8BITMIME RET=HDRS ENVID=QQ314159",
    "RCPT TO:<first.recipient@example.net> NOTIFY=FAILURE,DELAY ORCPT=rfc822;first.recipient@example.net",
    "RCPT TO:<second@example.net>",
    "RCPT TO:<third+tag@sub.example.net> NOTIFY=NEVER",
    "DATA",
    "NOOP",
    "RSET",
};

void BM_CommandMix(benchmark::State& state) {
  for (auto _ : state) {
    for (const std::string& line : kTransaction) {
      const CommandLine c = split_command(line);
      if (c.verb == Verb::kMail) {
        auto m = parse_mail(c.arg, 52428800);
        benchmark::DoNotOptimize(m);
      } else if (c.verb == Verb::kRcpt) {
        auto r = parse_rcpt(c.arg, false);
        benchmark::DoNotOptimize(r);
      } else {
        benchmark::DoNotOptimize(c);
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kTransaction.size()));
}
BENCHMARK(BM_CommandMix);

void BM_ParsePath(benchmark::State& state, const char* path) {
  const std::string text = path;
  for (auto _ : state) {
    PathResult r = parse_path(text, false);
    if (!r.ok) state.SkipWithError(r.error.c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_ParsePath, simple, "<user@example.com>");
BENCHMARK_CAPTURE(BM_ParsePath, quoted_local_part, "<\"john q. public\"@example.com>");
BENCHMARK_CAPTURE(BM_ParsePath, utf8, "<\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.example>");
BENCHMARK_CAPTURE(BM_ParsePath, source_route, "<@relay1.example,@relay2.example:user@example.com>");
BENCHMARK_CAPTURE(BM_ParsePath, address_literal, "<postmaster@[192.0.2.1]>");

}  // namespace
}  // namespace correo
