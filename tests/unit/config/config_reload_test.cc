// config_reload_test.cc - plan_reload: what a SIGHUP applies and what it keeps until a
// restart (config_reload.h). Configs come from TOML through the real loader.
#include "relay/config/config_reload.h"

#include <gtest/gtest.h>

#include <string>

#include "config_test_util.h"

namespace correo {
namespace {

class ConfigReloadTest : public ConfigTest {
 protected:
  Config parse(const std::string& text) {
    ConfigLoad l = load_config(write(text));
    EXPECT_TRUE(l.errors.empty()) << all_errors(l);
    return l.config;
  }
  static constexpr const char* kBase =
      "[server]\nhostname = \"mx.test\"\nworkers = 2\nstate_dir = \"var\"\n"
      "[[listener]]\naddress = \"127.0.0.1\"\nport = 2525\n"
      "[dns]\nservers = [\"127.0.0.1:53\"]\n"
      "[relay]\ndomains = { \"example.test\" = \"\" }\n";
};

TEST_F(ConfigReloadTest, UnchangedFileNeedsNoRestart) {
  const Config running = parse(kBase);
  const ReloadPlan plan = plan_reload(running, parse(kBase));
  EXPECT_TRUE(plan.restart_needed.empty()) << join_names(plan.restart_needed);
}

TEST_F(ConfigReloadTest, LiveSettingsPassThrough) {
  const Config running = parse(kBase);
  const std::string text = std::string(kBase) +
      "[limits]\nmessage_size = 100000\nrecipients = 7\n"
      "[delivery]\nqueue_only = true\nreuse_messages = 3\n"
      "[queue]\nretry_initial = \"9s\"\nmax_lifetime = \"1h\"\n"
      "[policy]\nmessage_rate = 5\nclient_deny = [\"192.0.2.0/24\"]\n"
      "[transport]\n\"partner.test\" = \"[127.0.0.9]:25\"\n"
      "[shutdown]\ngrace = \"3s\"\n";
  const ReloadPlan plan = plan_reload(running, parse(text));
  EXPECT_TRUE(plan.restart_needed.empty()) << join_names(plan.restart_needed);
  EXPECT_EQ(plan.config.limits.message_size, 100000u);
  EXPECT_EQ(plan.config.limits.recipients, 7u);
  EXPECT_TRUE(plan.config.delivery.queue_only);
  EXPECT_EQ(plan.config.delivery.reuse_messages, 3u);
  EXPECT_EQ(plan.config.queue.retry_initial, std::chrono::seconds(9));
  EXPECT_EQ(plan.config.policy.message_rate, 5u);
  EXPECT_EQ(plan.config.policy.client_deny.size(), 1u);
  EXPECT_EQ(plan.config.transport.routes.count("partner.test"), 1u);
  EXPECT_EQ(plan.config.shutdown.grace, std::chrono::seconds(3));
}

TEST_F(ConfigReloadTest, StartBoundSettingsAreKeptAndNamed) {
  const Config running = parse(std::string(kBase) + "[queue]\nmin_free_space = 1000\n");
  const std::string text =
      "[server]\nhostname = \"other.test\"\nworkers = 2\nstate_dir = \"var\"\n"
      "[[listener]]\naddress = \"127.0.0.1\"\nport = 2526\n"
      "[dns]\nservers = [\"127.0.0.1:5353\"]\n"
      "[relay]\ndomains = { \"example.test\" = \"\" }\n"
      "[queue]\nmin_free_space = 2000\nretry_max = \"20m\"\n"
      "[delivery]\nconnections_total = 10\nconnections_per_destination = 3\n"
      "[policy]\ntracked_clients = 1000\ndnsbl = { sites = [\"bl.example\"] }\n"
      "[metrics]\nlisten = \"127.0.0.1:9999\"\n";
  const ReloadPlan plan = plan_reload(running, parse(text));
  EXPECT_EQ(join_names(plan.restart_needed),
            "server,listener,dns,queue.min_free_space,delivery.connections_total,policy.tracked_clients,"
            "policy.dnsbl.sites,metrics");
  // Kept: the running values.
  EXPECT_EQ(plan.config.server.hostname, "mx.test");
  EXPECT_EQ(plan.config.listeners.at(0).port, 2525);
  EXPECT_EQ(plan.config.dns.servers, running.dns.servers);
  EXPECT_EQ(plan.config.queue.min_free_space, 1000u);
  EXPECT_EQ(plan.config.delivery.connections_total, running.delivery.connections_total);
  EXPECT_EQ(plan.config.policy.tracked_clients, running.policy.tracked_clients);
  EXPECT_TRUE(plan.config.policy.dnsbl.sites.empty());
  EXPECT_EQ(plan.config.metrics.listen, running.metrics.listen);
  // Applied: the live settings of the same sections.
  EXPECT_EQ(plan.config.queue.retry_max, std::chrono::minutes(20));
  EXPECT_EQ(plan.config.delivery.connections_per_destination, 3u);
}

}  // namespace
}  // namespace correo
