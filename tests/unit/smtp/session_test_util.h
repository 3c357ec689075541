// session_test_util.h - the fixture the session tests share: a host that records what the
// session asks of it, and helpers to talk and read the replies.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "relay/smtp/session.h"

namespace correo {

class FakeHost : public SessionHost {
 public:
  uint64_t next_queue_id() override { return ++id_; }
  bool submit(CommitRequest& r) override {
    if (busy) return false;
    commits.push_back(std::move(r));
    return true;
  }
  void on_accepted(uint64_t, uint64_t) override { ++accepted; }
  bool storage_available(uint64_t bytes) override { return bytes <= free_bytes; }
  bool flush_domain(std::string_view domain, bool subdomains) override {
    flushed.emplace_back(std::string(domain), subdomains);
    return true;
  }
  // AUTH: requests are recorded; the test answers with Session::on_auth_result.
  bool verify_credentials(std::string& user, std::string& password) override {
    if (auth_busy) return false;
    credentials.emplace_back(user, password);
    return true;
  }
  bool sender_allowed(std::string_view user, std::string_view address) override {
    return std::string(address) == std::string(user) + "@example.test";
  }
  std::vector<std::pair<std::string, std::string>> credentials;
  bool auth_busy = false;
  std::vector<std::pair<std::string, bool>> flushed;
  uint64_t free_bytes = UINT64_MAX;
  bool busy = false;
  std::vector<CommitRequest> commits;
  int accepted = 0;

 private:
  uint64_t id_ = 1000;
};

inline Config test_config() {
  Config c;
  c.server.hostname = "mx.test";
  c.relay.domains["example.test"] = "";
  c.relay.networks.push_back(*Cidr::parse("10.0.0.0/8"));
  c.limits.message_size = 10000;
  c.limits.recipients = 3;
  c.limits.errors_per_session = 10;
  return c;
}

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() : config_(test_config()) { make("192.0.2.1"); }
  void make(const std::string& ip, const ListenerConfig* policy = nullptr) {
    session_ = std::make_unique<Session>(config_, host_, ip, "test", policy);
    session_->start();
    take();
  }
  // take - the replies written so far, consumed.
  std::string take() {
    std::string s = session_->output();
    session_->output().clear();
    return s;
  }
  std::string say(std::string_view bytes) {
    session_->feed(bytes);
    return take();
  }
  // commit - answer the pending spool request as the spool would.
  std::string commit(CommitStatus status = CommitStatus::kOk) {
    EXPECT_EQ(session_->phase(), SessionPhase::kAwaitCommit);
    CommitCompletion c;
    c.id = host_.commits.back().envelope.id;
    c.status = status;
    session_->on_commit_result(c, std::chrono::steady_clock::now());
    session_->resume();
    return take();
  }
  static std::vector<std::string> codes(const std::string& replies) {
    std::vector<std::string> out;
    std::istringstream in(replies);
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() >= 4 && line[3] == ' ') out.push_back(line.substr(0, 3));
    }
    return out;
  }

  Config config_;
  FakeHost host_;
  std::unique_ptr<Session> session_;
};

}  // namespace correo
