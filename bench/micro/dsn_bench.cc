// dsn_bench.cc - building an RFC 3464 bounce: the multipart/report with a per-recipient
// delivery-status part and the original message returned. Measured for 1 and 10 failed
// recipients of a 10 KiB message (RET=FULL returns all of it).
#include <benchmark/benchmark.h>

#include <string>

#include "relay/delivery/dsn.h"

namespace correo {
namespace {

void BM_BuildDsn(benchmark::State& state) {
  std::string original = "Received: from client.example.org by relay.example.test; Tue, 24 Nov 2026 04:00:00 +0000\r\n"
                         "From: <sender@example.org>\r\nTo: <rcpt@example.net>\r\nSubject: hello\r\n\r\n";
  while (original.size() < 10 * 1024) original += std::string(76, 'b') + "\r\n";
  DsnInput in;
  in.reporting_mta = "relay.example.test";
  in.original_sender = "sender@example.org";
  in.envid = "QQ314159";
  in.arrival_us = 1'700'000'000'000'000;
  in.now_us = in.arrival_us + 3'600'000'000;
  in.ret = DsnRet::kFull;
  in.original = original;
  in.boundary_seed = "0361ZE799TG61";
  for (int64_t i = 0; i < state.range(0); ++i) {
    DsnRecipient r;
    r.final_recipient = "user" + std::to_string(i) + "@example.net";
    r.original_recipient = "rfc822;" + r.final_recipient;
    r.status = "5.1.1";
    r.remote_mta = "mx.example.net";
    r.diagnostic = "550 5.1.1 <" + r.final_recipient + ">: Recipient address rejected: User unknown";
    r.last_attempt_us = in.now_us;
    in.recipients.push_back(r);
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string dsn = build_dsn(in);
    bytes = dsn.size();
    benchmark::DoNotOptimize(dsn.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["dsn_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_BuildDsn)->Arg(1)->Arg(10);

}  // namespace
}  // namespace correo
