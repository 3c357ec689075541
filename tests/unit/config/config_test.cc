// config_test.cc - load_config and parse_duration: the shipped file, defaults, and that every
// bad value is reported as "FILE:LINE: key: problem" with the right key and line.
#include "relay/config/config.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/unit/config/config_test_util.h"

namespace correo {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST_F(ConfigTest, ShippedConfigLoadsClean) {
  const std::string path = shipped_config_path();
  const ConfigLoad load = load_config(path);
  EXPECT_TRUE(load.errors.empty()) << all_errors(load);
  const Config& c = load.config;
  EXPECT_EQ(c.path, path);
  EXPECT_EQ(c.server.hostname, "relay.example.test");
  EXPECT_GE(c.server.workers, 1u);
  EXPECT_LE(c.server.workers, 64u);
  EXPECT_EQ(c.server.state_dir, "var");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].address, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].port, 2525);
  EXPECT_EQ(c.listeners[0].mode, ListenerMode::kSmtp);
  EXPECT_EQ(c.limits.message_size, 52428800u);
  EXPECT_EQ(c.limits.recipients, 1000u);
  ASSERT_EQ(c.relay.domains.size(), 1u);
  EXPECT_EQ(c.relay.domains.at("example.test"), "[127.0.0.1]:2526");
  ASSERT_EQ(c.relay.networks.size(), 2u);
  EXPECT_EQ(c.relay.networks[0].to_string(), "127.0.0.0/8");
  EXPECT_EQ(c.relay.networks[1].to_string(), "::1/128");
  EXPECT_EQ(c.log.format, LogFormat::kKv);
  EXPECT_EQ(c.log.level, LogLevel::kInfo);
}

TEST_F(ConfigTest, EmptyFileGivesDefaults) {
  const std::string path = write("");
  const ConfigLoad load = load_config(path);
  EXPECT_TRUE(load.errors.empty()) << all_errors(load);
  const Config& c = load.config;
  const Config defaults;
  EXPECT_EQ(c.path, path);
  EXPECT_FALSE(c.server.hostname.empty());  // gethostname()
  EXPECT_GE(c.server.workers, 1u);
  EXPECT_LE(c.server.workers, 64u);
  EXPECT_EQ(c.server.state_dir, "var");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].address, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].port, 2525);
  EXPECT_EQ(c.listeners[0].mode, ListenerMode::kSmtp);
  EXPECT_EQ(c.limits.message_size, defaults.limits.message_size);
  EXPECT_EQ(c.limits.recipients, defaults.limits.recipients);
  EXPECT_EQ(c.limits.idle_timeout, minutes(5));
  EXPECT_EQ(c.limits.data_timeout, minutes(10));
  EXPECT_EQ(c.limits.command_line, 512u);
  EXPECT_EQ(c.limits.text_line, 1000u);
  EXPECT_TRUE(c.relay.domains.empty());
  EXPECT_TRUE(c.relay.networks.empty());
  EXPECT_EQ(c.relay.relayhost, "");
  EXPECT_EQ(c.queue.retry_initial, minutes(5));
  EXPECT_EQ(c.queue.retry_max, hours(1));
  EXPECT_EQ(c.queue.max_lifetime, hours(120));
  EXPECT_EQ(c.queue.delay_warning, milliseconds(0));
  EXPECT_EQ(c.queue.body_memtable, 128u << 20);
  EXPECT_EQ(c.log.format, LogFormat::kKv);
  EXPECT_EQ(c.log.level, LogLevel::kInfo);
}

TEST_F(ConfigTest, CommentsAndEmptySectionsGiveDefaults) {
  const ConfigLoad load = this->load("# nothing\n\n[server]\n[limits]\n[relay]\n[queue]\n[log]\n");
  EXPECT_TRUE(load.errors.empty()) << all_errors(load);
  EXPECT_EQ(load.config.listeners.size(), 1u);
}

TEST_F(ConfigTest, EveryKeyIsRead) {
  const ConfigLoad load = this->load(R"(
[server]
hostname = "mx1.example.org"
workers = 7
state_dir = "/var/lib/correo"

[[listener]]
address = "0.0.0.0"
port = 25
mode = "smtp"

[[listener]]
address = "::"
port = 25

[limits]
message_size = 1024
recipients = 100
max_hops = 30
idle_timeout = "300s"
data_timeout = "3m"
sessions_per_worker = 5
errors_per_session = 3
command_line = 2048
text_line = 1000
output_buffer = 4096

[relay]
domains = { "Example.ORG" = "", "b.test" = "[127.0.0.1]:2526", "c.test" = "mx.c.test" }
networks = ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"]
relayhost = "[smart.example.net]:587"

[queue]
retry_initial = "1m"
retry_max = "2h"
max_lifetime = "3d"
delay_warning = "4h"

[log]
format = "json"
level = "debug"
)");
  ASSERT_TRUE(load.errors.empty()) << all_errors(load);
  const Config& c = load.config;
  EXPECT_EQ(c.server.hostname, "mx1.example.org");
  EXPECT_EQ(c.server.workers, 7u);
  EXPECT_EQ(c.server.state_dir, "/var/lib/correo");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].address, "0.0.0.0");
  EXPECT_EQ(c.listeners[0].port, 25);
  EXPECT_EQ(c.listeners[1].address, "::");
  EXPECT_EQ(c.listeners[1].port, 25);
  EXPECT_EQ(c.listeners[1].mode, ListenerMode::kSmtp);
  EXPECT_EQ(c.limits.message_size, 1024u);
  EXPECT_EQ(c.limits.recipients, 100u);
  EXPECT_EQ(c.limits.max_hops, 30u);
  EXPECT_EQ(c.limits.idle_timeout, seconds(300));
  EXPECT_EQ(c.limits.data_timeout, minutes(3));
  EXPECT_EQ(c.limits.sessions_per_worker, 5u);
  EXPECT_EQ(c.limits.errors_per_session, 3u);
  EXPECT_EQ(c.limits.command_line, 2048u);
  EXPECT_EQ(c.limits.text_line, 1000u);
  EXPECT_EQ(c.limits.output_buffer, 4096u);
  const std::map<std::string, std::string> domains = {
      {"example.org", ""}, {"b.test", "[127.0.0.1]:2526"}, {"c.test", "mx.c.test"}};
  EXPECT_EQ(c.relay.domains, domains);
  ASSERT_EQ(c.relay.networks.size(), 3u);
  EXPECT_EQ(c.relay.networks[0].to_string(), "10.0.0.0/8");
  EXPECT_EQ(c.relay.networks[1].to_string(), "192.168.1.7/32");
  EXPECT_EQ(c.relay.networks[2].to_string(), "2001:db8::/32");
  EXPECT_EQ(c.relay.relayhost, "[smart.example.net]:587");
  EXPECT_EQ(c.queue.retry_initial, minutes(1));
  EXPECT_EQ(c.queue.retry_max, hours(2));
  EXPECT_EQ(c.queue.max_lifetime, hours(72));
  EXPECT_EQ(c.queue.delay_warning, hours(4));
  EXPECT_EQ(c.log.format, LogFormat::kJson);
  EXPECT_EQ(c.log.level, LogLevel::kDebug);
}

TEST_F(ConfigTest, RelayDomainsAsTableAndListenersAsInlineArray) {
  const ConfigLoad load = this->load(
      "listener = [{ address = \"::1\", port = 2525 }, { port = 2526 }]\n"
      "[relay.domains]\n"
      "\"A.Test\" = \"[mx.a.test]\"\n"
      "\"b.test\" = \"[::1]:25\"\n"
      "\"c.test\" = \"mx.c.test:2525\"\n"
      "\"d.test\" = \"192.0.2.1\"\n");
  ASSERT_TRUE(load.errors.empty()) << all_errors(load);
  ASSERT_EQ(load.config.listeners.size(), 2u);
  EXPECT_EQ(load.config.listeners[0].address, "::1");
  EXPECT_EQ(load.config.listeners[1].address, "127.0.0.1");
  EXPECT_EQ(load.config.listeners[1].port, 2526);
  EXPECT_EQ(load.config.relay.domains.size(), 4u);
  EXPECT_EQ(load.config.relay.domains.at("a.test"), "[mx.a.test]");
}

TEST_F(ConfigTest, WorkersZeroResolvesToCpuCount) {
  const ConfigLoad zero = load("[server]\nworkers = 0\n");
  ASSERT_TRUE(zero.errors.empty()) << all_errors(zero);
  EXPECT_GE(zero.config.server.workers, 1u);
  EXPECT_LE(zero.config.server.workers, 64u);

  const ConfigLoad max = load("[server]\nworkers = 64\n");
  ASSERT_TRUE(max.errors.empty()) << all_errors(max);
  EXPECT_EQ(max.config.server.workers, 64u);
}

// One bad value per case: exactly one error, at the given line, naming the key.
struct BadValueCase {
  const char* text;
  unsigned line;
  const char* key;
  const char* problem;  // substring of the problem
};

void PrintTo(const BadValueCase& c, std::ostream* os) { *os << c.key << " at line " << c.line; }

class ConfigBadValueTest : public ConfigTest, public ::testing::WithParamInterface<BadValueCase> {};

TEST_P(ConfigBadValueTest, NamesKeyAndLine) {
  const BadValueCase& c = GetParam();
  const ConfigLoad load = this->load(c.text);
  ASSERT_EQ(load.errors.size(), 1u) << c.text << "\n" << all_errors(load);
  const std::string& error = load.errors[0].text;
  EXPECT_EQ(error.rfind(prefix(c.line, c.key), 0), 0u) << error;
  EXPECT_NE(error.find(c.problem), std::string::npos) << error;
}

const BadValueCase kBadValues[] = {
    // [server]
    {"[server]\nhostname = \"\"\n", 2, "server.hostname", "must be a host name"},
    {"[server]\nhostname = \"a b\"\n", 2, "server.hostname", "no spaces"},
    {"[server]\nhostname = 5\n", 2, "server.hostname", "must be a string, not an integer"},
    {"[server]\nworkers = 65\n", 2, "server.workers", "must be 0..64"},
    {"[server]\nworkers = -1\n", 2, "server.workers", "must be 0..64"},
    {"[server]\nworkers = \"4\"\n", 2, "server.workers", "must be an integer, not a string"},
    {"[server]\n\nstate_dir = \"\"\n", 3, "server.state_dir", "non-empty"},
    {"[server]\nstate_dir = []\n", 2, "server.state_dir", "must be a string, not an array"},
    // [[listener]]
    {"[[listener]]\naddress = \"localhost\"\n", 2, "listener[0].address", "IPv4 or IPv6"},
    {"[[listener]]\naddress = \"[::1]\"\n", 2, "listener[0].address", "IPv4 or IPv6"},
    {"[[listener]]\nport = 0\n", 2, "listener[0].port", "must be 1..65535"},
    {"[[listener]]\nport = 65536\n", 2, "listener[0].port", "must be 1..65535"},
    {"[[listener]]\nport = \"25\"\n", 2, "listener[0].port", "must be an integer, not a string"},
    {"[[listener]]\nmode = \"lmtp\"\n", 2, "listener[0].mode", "one of smtp, submission, smtps"},
    {"[[listener]]\nport = 2526\n\n[[listener]]\nport = 70000\n", 5, "listener[1].port",
     "must be 1..65535"},
    {"[listener]\nport = 25\n", 1, "listener", "array of tables"},
    {"listener = [1]\n", 1, "listener[0]", "must be a table, not an integer"},
    // [limits]
    {"[limits]\nmessage_size = 1023\n", 2, "limits.message_size", "must be an integer >= 1024"},
    {"[limits]\nrecipients = 0\n", 2, "limits.recipients", "must be an integer >= 1"},
    {"[limits]\nrecipients = 4294967296\n", 2, "limits.recipients", "<= 4294967295"},
    {"[limits]\nrecipients = 1.5\n", 2, "limits.recipients", "must be an integer, not a float"},
    {"[limits]\nrecipients = \"many\"\n", 2, "limits.recipients", "must be an integer"},
    {"[limits]\nmax_hops = 0\n", 2, "limits.max_hops", ">= 1"},
    {"[limits]\nidle_timeout = \"0s\"\n", 2, "limits.idle_timeout", "greater than 0"},
    {"[limits]\nidle_timeout = \"5 m\"\n", 2, "limits.idle_timeout", "not a duration"},
    {"[limits]\ndata_timeout = 600\n", 2, "limits.data_timeout",
     "must be a duration string like \"30s\""},
    {"[limits]\nsessions_per_worker = 0\n", 2, "limits.sessions_per_worker", ">= 1"},
    {"[limits]\nerrors_per_session = 0\n", 2, "limits.errors_per_session", ">= 1"},
    {"[limits]\ncommand_line = 511\n", 2, "limits.command_line", ">= 512"},
    {"[limits]\ntext_line = 999\n", 2, "limits.text_line", ">= 1000"},
    {"[limits]\noutput_buffer = 4095\n", 2, "limits.output_buffer", ">= 4096"},
    {"[limits]\noutput_buffer = true\n", 2, "limits.output_buffer", "not a boolean"},
    // [relay]
    {"[relay]\ndomains = { \"bad_domain.test\" = \"\" }\n", 2,
     "relay.domains.\"bad_domain.test\"", "not a valid domain name"},
    {"[relay]\ndomains = { \"-a.test\" = \"\" }\n", 2, "relay.domains.\"-a.test\"",
     "not a valid domain name"},
    {"[relay]\ndomains = { \"a..test\" = \"\" }\n", 2, "relay.domains.\"a..test\"",
     "not a valid domain name"},
    {"[relay]\ndomains = { \"192.0.2.1\" = \"\" }\n", 2, "relay.domains.\"192.0.2.1\"",
     "IP address"},
    {"[relay]\ndomains = { \"a.test\" = 5 }\n", 2, "relay.domains.\"a.test\"",
     "must be a string"},
    {"[relay]\ndomains = { \"a.test\" = \"[mx\" }\n", 2, "relay.domains.\"a.test\"",
     "is not a next hop"},
    {"[relay]\ndomains = { \"A.test\" = \"\", \"a.TEST\" = \"\" }\n", 2,
     "relay.domains.\"a.TEST\"", "duplicate of \"A.test\""},
    {"[relay]\ndomains = [\"a.test\"]\n", 2, "relay.domains", "must be a table"},
    {"[relay]\nnetworks = [\n  \"10.0.0.0/8\",\n  \"300.1.1.1/8\",\n]\n", 4,
     "relay.networks[1]", "\"300.1.1.1/8\" is not a CIDR network"},
    {"[relay]\nnetworks = [\"10.1.2.3/8\"]\n", 2, "relay.networks[0]", "\"10.1.2.3/8\""},
    {"[relay]\nnetworks = [\"10.0.0.0/33\"]\n", 2, "relay.networks[0]", "\"10.0.0.0/33\""},
    {"[relay]\nnetworks = [8]\n", 2, "relay.networks[0]", "must be a string"},
    {"[relay]\nnetworks = \"10.0.0.0/8\"\n", 2, "relay.networks", "must be an array"},
    {"[relay]\nrelayhost = \"[mx.test]:x\"\n", 2, "relay.relayhost", "port \"x\""},
    {"[relay]\nrelayhost = 25\n", 2, "relay.relayhost", "must be a string"},
    // [queue]
    {"[queue]\nretry_initial = \"5\"\n", 2, "queue.retry_initial", "not a duration"},
    {"[queue]\nbody_memtable = 1024\n", 2, "queue.body_memtable", "4194304..4294967296 bytes"},
    {"[queue]\nretry_max = \"0s\"\n", 2, "queue.retry_max", "greater than 0"},
    {"[queue]\nmax_lifetime = \"-1d\"\n", 2, "queue.max_lifetime", "not a duration"},
    {"[queue]\ndelay_warning = \"1.5h\"\n", 2, "queue.delay_warning", "not a duration"},
    {"[queue]\nretry_initial = \"2h\"\n", 2, "queue.retry_initial",
     "must not exceed queue.retry_max (2h > 1h)"},
    {"[queue]\nretry_max = \"1m\"\n", 2, "queue.retry_max", "must not be below"},
    {"[queue]\nretry_max = \"1m\"\nretry_initial = \"2m\"\n", 3, "queue.retry_initial",
     "must not exceed"},
    // [log]
    {"[log]\nformat = \"text\"\n", 2, "log.format", "must be one of kv, json (got \"text\")"},
    {"[log]\nlevel = \"verbose\"\n", 2, "log.level", "one of debug, info, warn, error"},
    {"[log]\nlevel = true\n", 2, "log.level", "must be a string"},
    // section of the wrong type
    {"server = 5\n", 1, "server", "must be a table"},
    {"[[limits]]\n", 1, "limits", "must be a table"},
};
INSTANTIATE_TEST_SUITE_P(Keys, ConfigBadValueTest, ::testing::ValuesIn(kBadValues));

TEST_F(ConfigTest, GoodNextHops) {
  for (const char* hop : {"", "mx.example.test", "mx.example.test:2525", "[mx.example.test]",
                          "[mx.example.test]:25", "[192.0.2.1]:25", "[2001:db8::1]:25",
                          "192.0.2.1", "192.0.2.1:25", "localhost"}) {
    const ConfigLoad load = this->load(std::string("[relay]\nrelayhost = \"") + hop + "\"\n");
    EXPECT_TRUE(load.errors.empty()) << hop << ": " << all_errors(load);
    EXPECT_EQ(load.config.relay.relayhost, hop);
  }
}

TEST_F(ConfigTest, BadNextHops) {
  for (const char* hop : {"[mx.test", "[]:25", "[mx.test]x", "[mx.test]:", "mx.test:0",
                          "mx.test:65536", "mx.test:", ":25", "2001:db8::1", "mx_1.test",
                          "mx.test:25:26", "a b", "[bad host]:25"}) {
    const ConfigLoad load = this->load(std::string("[relay]\nrelayhost = \"") + hop + "\"\n");
    ASSERT_EQ(load.errors.size(), 1u) << hop << ": " << all_errors(load);
    EXPECT_EQ(load.errors[0].text.rfind(prefix(2, "relay.relayhost"), 0), 0u)
        << load.errors[0].text;
    EXPECT_NE(load.errors[0].text.find("is not a next hop"), std::string::npos)
        << load.errors[0].text;
  }
}

TEST_F(ConfigTest, DomainNameLengthLimits) {
  const std::string label63(63, 'a');
  const std::string label64(64, 'a');
  // 4 labels of 63 + 3 dots = 255 characters: over the 253 total.
  const std::string long_name = label63 + "." + label63 + "." + label63 + "." + label63;
  const std::string ok_name = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  ASSERT_EQ(ok_name.size(), 253u);
  EXPECT_TRUE(load("[relay]\ndomains = { \"" + label63 + ".test\" = \"\" }\n").errors.empty());
  EXPECT_TRUE(load("[relay]\ndomains = { \"" + ok_name + "\" = \"\" }\n").errors.empty());
  EXPECT_EQ(load("[relay]\ndomains = { \"" + label64 + ".test\" = \"\" }\n").errors.size(), 1u);
  EXPECT_EQ(load("[relay]\ndomains = { \"" + long_name + "\" = \"\" }\n").errors.size(), 1u);
  EXPECT_EQ(load("[relay]\ndomains = { \"a-.test\" = \"\" }\n").errors.size(), 1u);
  EXPECT_EQ(load("[relay]\ndomains = { \"\" = \"\" }\n").errors.size(), 1u);
  EXPECT_EQ(load("[relay]\ndomains = { \"a.test.\" = \"\" }\n").errors.size(), 1u);
}

struct UnknownCase {
  const char* text;
  unsigned line;
  const char* key;
  const char* problem;  // the whole problem text
};

void PrintTo(const UnknownCase& c, std::ostream* os) { *os << c.key; }

class ConfigUnknownTest : public ConfigTest, public ::testing::WithParamInterface<UnknownCase> {};

TEST_P(ConfigUnknownTest, IsAnError) {
  const UnknownCase& c = GetParam();
  const ConfigLoad load = this->load(c.text);
  ASSERT_EQ(load.errors.size(), 1u) << all_errors(load);
  EXPECT_EQ(load.errors[0].text, prefix(c.line, c.key) + c.problem);
}

const UnknownCase kUnknown[] = {
    {"[limits]\nrecipent = 5\n", 2, "limits.recipent", "unknown key (did you mean recipients?)"},
    {"[server]\n\nwrkers = 5\n", 3, "server.wrkers", "unknown key (did you mean workers?)"},
    {"[server]\nfoo = 1\n", 2, "server.foo", "unknown key"},
    {"[[listener]]\nprot = 25\n", 2, "listener[0].prot", "unknown key (did you mean port?)"},
    {"[relay]\ndomain = {}\n", 2, "relay.domain", "unknown key (did you mean domains?)"},
    {"[relay.extra]\nx = 1\n", 1, "relay.extra", "unknown key"},
    {"[queue]\nretry_inital = \"1m\"\n", 2, "queue.retry_inital",
     "unknown key (did you mean retry_initial?)"},
    {"[sever]\n", 1, "sever", "unknown section (did you mean server?)"},
    {"[foo]\n", 1, "foo", "unknown section"},
    {"colour = 1\n", 1, "colour", "unknown key"},
    {"[tsl]\n", 1, "tsl", "unknown section (did you mean tls?)"},
};
INSTANTIATE_TEST_SUITE_P(Names, ConfigUnknownTest, ::testing::ValuesIn(kUnknown));

TEST_F(ConfigTest, OperationsSections) {
  const ConfigLoad defaults = load("[server]\nstate_dir = \"/srv/q\"\n");
  ASSERT_TRUE(defaults.errors.empty()) << all_errors(defaults);
  EXPECT_EQ(defaults.config.metrics.listen, "127.0.0.1:9465");
  EXPECT_EQ(defaults.config.admin.listen, "unix:/srv/q/correo.sock");  // under state_dir
  EXPECT_EQ(defaults.config.shutdown.grace, std::chrono::seconds(30));

  const ConfigLoad ok = load("[metrics]\nlisten = \"[::1]:9100\"\n[admin]\nlisten = \"127.0.0.2:9466\"\n"
                             "[shutdown]\ngrace = \"5s\"\n");
  ASSERT_TRUE(ok.errors.empty()) << all_errors(ok);
  EXPECT_EQ(ok.config.metrics.listen, "[::1]:9100");
  EXPECT_EQ(ok.config.admin.listen, "127.0.0.2:9466");
  EXPECT_EQ(ok.config.shutdown.grace, std::chrono::seconds(5));
  EXPECT_TRUE(load("[metrics]\nlisten = \"\"\n[admin]\nlisten = \"\"\n").errors.empty());

  const ConfigLoad bad = load("[metrics]\nlisten = \"localhost:9465\"\n[admin]\nlisten = \"0.0.0.0:9466\"\n"
                              "[shutdown]\ngrace = \"soon\"\n");
  ASSERT_EQ(bad.errors.size(), 3u) << all_errors(bad);
  EXPECT_NE(bad.errors[0].text.find("metrics.listen: must be \"IP:PORT\""), std::string::npos) << bad.errors[0].text;
  EXPECT_NE(bad.errors[1].text.find("admin.listen: must be a loopback address"), std::string::npos) << bad.errors[1].text;
  EXPECT_NE(bad.errors[2].text.find("shutdown.grace"), std::string::npos) << bad.errors[2].text;
}

TEST_F(ConfigTest, DeliverySections) {
  const ConfigLoad ok = load(
      "[transport]\n\"Partner.test\" = \"[192.0.2.10]:25\"\n\".partner.test\" = \"mx.partner.test\"\n"
      "[dns]\nservers = [\"127.0.0.1:5353\", \"[::1]:53\", \"10.0.0.1\"]\ncache_entries = 10\ntimeout = \"1s\"\n"
      "[delivery]\nport = 2525\nconnections_per_destination = 3\nconnections_total = 50\ntls = \"none\"\n"
      "reuse_time = \"0s\"\nreuse_messages = 5\nconnect_timeout = \"5s\"\n");
  ASSERT_TRUE(ok.errors.empty()) << all_errors(ok);
  EXPECT_EQ(ok.config.transport.routes.at("partner.test"), "[192.0.2.10]:25");
  EXPECT_EQ(ok.config.transport.routes.at(".partner.test"), "mx.partner.test");
  EXPECT_EQ(ok.config.dns.servers.size(), 3u);
  EXPECT_EQ(ok.config.delivery.port, 2525);
  EXPECT_EQ(ok.config.delivery.tls, OutboundTls::kNone);
  EXPECT_EQ(ok.config.delivery.reuse_messages, 5u);

  const ConfigLoad bad = load(
      "[transport]\n\"bad..name\" = \"x\"\n\"ok.test\" = \"\"\n\"ok2.test\" = \"[::1\"\n"
      "[dns]\nservers = [\"::1\"]\n"
      "[delivery]\ntls = \"strict\"\nport = 0\n");
  ASSERT_EQ(bad.errors.size(), 6u) << all_errors(bad);
  EXPECT_EQ(bad.errors[0].text.rfind(prefix(2, "transport.bad..name"), 0), 0u) << bad.errors[0].text;
  EXPECT_EQ(bad.errors[1].text, prefix(3, "transport.ok.test") + "next hop must not be empty");
  EXPECT_EQ(bad.errors[2].text.rfind(prefix(4, "transport.ok2.test"), 0), 0u);
  EXPECT_NE(bad.errors[3].text.find("needs brackets"), std::string::npos) << bad.errors[3].text;
  EXPECT_NE(bad.errors[4].text.find("one of none, opportunistic, verify"), std::string::npos) << bad.errors[4].text;
  EXPECT_EQ(bad.errors[5].text.rfind(prefix(9, "delivery.port"), 0), 0u);
}

TEST_F(ConfigTest, DuplicateListener) {
  const ConfigLoad load = this->load(
      "[[listener]]\naddress = \"127.0.0.1\"\nport = 25\n"
      "[[listener]]\naddress = \"127.0.0.1\"\nport = 26\n"
      "[[listener]]\naddress = \"::1\"\nport = 25\n"
      "[[listener]]\naddress = \"127.0.0.1\"\nport = 25\n"
      "[[listener]]\naddress = \"0:0::1\"\nport = 25\n");
  ASSERT_EQ(load.errors.size(), 2u) << all_errors(load);
  EXPECT_EQ(load.errors[0].text.rfind(prefix(10, "listener[3]"), 0), 0u) << load.errors[0].text;
  EXPECT_NE(load.errors[0].text.find("duplicate of listener[0]"), std::string::npos);
  EXPECT_EQ(load.errors[1].text.rfind(prefix(13, "listener[4]"), 0), 0u) << load.errors[1].text;
  EXPECT_NE(load.errors[1].text.find("duplicate of listener[2]"), std::string::npos);
}

TEST_F(ConfigTest, DuplicateDefaultListener) {
  const ConfigLoad load = this->load("[[listener]]\n[[listener]]\nmode = \"smtp\"\n");
  ASSERT_EQ(load.errors.size(), 1u) << all_errors(load);
  EXPECT_EQ(load.errors[0].text.rfind(prefix(2, "listener[1]"), 0), 0u) << load.errors[0].text;
}

TEST_F(ConfigTest, MultipleErrorsReportedTogetherInFileOrder) {
  const ConfigLoad load = this->load(
      "[server]\n"
      "workers = 100\n"
      "[limits]\n"
      "recipients = 0\n"
      "idle_timeout = \"forever\"\n"
      "[[listener]]\n"
      "port = 0\n"
      "[log]\n"
      "level = \"loud\"\n"
      "[dns]\nservers = [\"dns.example:53\"]\n");
  ASSERT_EQ(load.errors.size(), 6u) << all_errors(load);
  EXPECT_EQ(load.errors[0].text.rfind(prefix(2, "server.workers"), 0), 0u);
  EXPECT_EQ(load.errors[1].text.rfind(prefix(4, "limits.recipients"), 0), 0u);
  EXPECT_EQ(load.errors[2].text.rfind(prefix(5, "limits.idle_timeout"), 0), 0u);
  EXPECT_EQ(load.errors[3].text.rfind(prefix(7, "listener[0].port"), 0), 0u);
  EXPECT_EQ(load.errors[4].text.rfind(prefix(9, "log.level"), 0), 0u);
  EXPECT_EQ(load.errors[5].text.rfind(prefix(11, "dns.servers[0]"), 0), 0u);
}

TEST_F(ConfigTest, SyntaxErrorHasFileAndLine) {
  const ConfigLoad load = this->load("[server]\nworkers = \n");
  ASSERT_EQ(load.errors.size(), 1u) << all_errors(load);
  EXPECT_EQ(load.errors[0].text.rfind(prefix(2, "syntax error"), 0), 0u) << load.errors[0].text;
  EXPECT_EQ(load.errors[0].text.find('\n'), std::string::npos) << load.errors[0].text;
}

TEST_F(ConfigTest, DuplicateTomlKeyIsASyntaxError) {
  const ConfigLoad load = this->load("[limits]\nrecipients = 5\nrecipients = 6\n");
  ASSERT_EQ(load.errors.size(), 1u) << all_errors(load);
  EXPECT_EQ(load.errors[0].text.rfind(prefix(3, "syntax error"), 0), 0u) << load.errors[0].text;
}

TEST_F(ConfigTest, CrLfLineEndings) {
  const ConfigLoad load = this->load("[limits]\r\n\r\nrecipients = 0\r\n");
  ASSERT_EQ(load.errors.size(), 1u) << all_errors(load);
  EXPECT_EQ(load.errors[0].text.rfind(prefix(3, "limits.recipients"), 0), 0u)
      << load.errors[0].text;
}

TEST_F(ConfigTest, DeepNestingIsAnErrorNotACrash) {
  const ConfigLoad arrays =
      this->load("[server]\n\na = " + std::string(100000, '[') + std::string(100000, ']') + "\n");
  ASSERT_EQ(arrays.errors.size(), 1u) << all_errors(arrays);
  EXPECT_EQ(arrays.errors[0].text.rfind(prefix(3, "syntax error"), 0), 0u)
      << arrays.errors[0].text;

  std::string dotted = "a";
  for (int i = 0; i < 100000; ++i) dotted += ".a";
  const ConfigLoad keys = this->load(dotted + " = 1\n");
  ASSERT_EQ(keys.errors.size(), 1u) << all_errors(keys);
  EXPECT_EQ(keys.errors[0].text.rfind(prefix(1, "syntax error"), 0), 0u) << keys.errors[0].text;
}

// Found by tests/fuzz/config_fuzz: toml11 3.7 read past its buffer on a truncated UTF-8
// sequence in a literal string. The loader refuses non-UTF-8 files before toml11 sees them.
TEST_F(ConfigTest, InvalidUtf8IsAnErrorBeforeParsing) {
  for (const std::string& bad : {std::string("'\xea'o"), std::string("[server]\nhostname = \"a\xc3\"\n"),
                                std::string("# \xed\xa0\x80 (a surrogate)\n"), std::string("\n\n\xf4\x90\x80\x80\n"),
                                std::string("# overlong \xc0\xaf\n")}) {
    const ConfigLoad load = this->load(bad);
    ASSERT_EQ(load.errors.size(), 1u) << all_errors(load);
    EXPECT_NE(load.errors[0].text.find("syntax error: not valid UTF-8"), std::string::npos) << load.errors[0].text;
  }
  const ConfigLoad third_line = this->load("\n\n\xff\n");
  ASSERT_EQ(third_line.errors.size(), 1u);
  EXPECT_EQ(third_line.errors[0].text.rfind(prefix(3, "syntax error"), 0), 0u) << third_line.errors[0].text;

  // UTF-8 itself is fine: 2-, 3- and 4-byte sequences, and the largest code point.
  const ConfigLoad ok = this->load("# caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7 \xf4\x8f\xbf\xbf\n"
                                   "[server]\nhostname = \"mx.example.test\" # \xc3\xbc\n");
  EXPECT_EQ(ok.errors.size(), 0u) << all_errors(ok);
}

TEST_F(ConfigTest, BracketsAndDotsInStringsAndCommentsAreNotNesting) {
  const std::string many_brackets(200, '[');
  std::string many_dots = "a";
  for (int i = 0; i < 100; ++i) many_dots += ".a";
  const ConfigLoad load = this->load(
      "# " + many_brackets + " " + many_dots + "\n"
      "[server]\n"
      "state_dir = \"" + many_brackets + "\\\"" + many_dots + "\"\n"
      "hostname = '" + many_dots + "'\n"
      "[relay]\n"
      "relayhost = \"\"\"\n" + many_brackets + "\"\"\"\n");
  // Only relayhost is wrong (its value is not a next hop); nothing is "nested too deep".
  ASSERT_EQ(load.errors.size(), 1u) << all_errors(load);
  EXPECT_EQ(load.errors[0].text.rfind(prefix(6, "relay.relayhost"), 0), 0u)
      << load.errors[0].text;
  EXPECT_EQ(load.config.server.hostname, many_dots);
}

TEST_F(ConfigTest, MissingFile) {
  const std::string path = dir_ + "/nope.toml";
  const ConfigLoad load = load_config(path);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].text, path + ":0: cannot read: No such file or directory");
  EXPECT_EQ(load.config.path, path);
}

TEST_F(ConfigTest, DirectoryIsNotAFile) {
  const ConfigLoad load = load_config(dir_);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].text, dir_ + ":0: cannot read: Is a directory");
}

TEST_F(ConfigTest, EndlessFileIsRefused) {
  const ConfigLoad load = load_config("/dev/zero");
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].text, "/dev/zero:0: cannot read: larger than 4 MiB");
}

TEST(ConfigListenerModeTest, ToString) {
  EXPECT_STREQ(to_string(ListenerMode::kSmtp), "smtp");
  EXPECT_STREQ(to_string(ListenerMode::kSubmission), "submission");
  EXPECT_STREQ(to_string(ListenerMode::kSmtps), "smtps");
}

struct DurationCase {
  const char* text;
  std::optional<int64_t> ms;
};

void PrintTo(const DurationCase& c, std::ostream* os) { *os << '"' << c.text << '"'; }

class ConfigParseDurationTest : public ::testing::TestWithParam<DurationCase> {};

TEST_P(ConfigParseDurationTest, Parses) {
  const DurationCase& c = GetParam();
  const auto d = parse_duration(c.text);
  if (c.ms) {
    ASSERT_TRUE(d.has_value()) << '"' << c.text << '"';
    EXPECT_EQ(d->count(), *c.ms) << '"' << c.text << '"';
  } else {
    EXPECT_FALSE(d.has_value()) << '"' << c.text << "\" gave " << d->count();
  }
}

const DurationCase kDurations[] = {
    {"250ms", 250},
    {"0ms", 0},
    {"0s", 0},
    {"30s", 30000},
    {"5m", 300000},
    {"4h", 14400000},
    {"5d", 432000000},
    {"007s", 7000},
    {"9223372036854775807ms", INT64_MAX},
    {"106751991167d", int64_t{106751991167} * 86400000},
    {"", std::nullopt},
    {"5", std::nullopt},
    {"ms", std::nullopt},
    {"s", std::nullopt},
    {"-5s", std::nullopt},
    {"+5s", std::nullopt},
    {"1.5h", std::nullopt},
    {" 5s", std::nullopt},
    {"5s ", std::nullopt},
    {"5 s", std::nullopt},
    {"5S", std::nullopt},
    {"5sec", std::nullopt},
    {"5min", std::nullopt},
    {"5mss", std::nullopt},
    {"5hm", std::nullopt},
    {"5us", std::nullopt},
    {"0x10s", std::nullopt},
    {"9223372036854775808ms", std::nullopt},
    {"106751991168d", std::nullopt},
    {"18446744073709551616s", std::nullopt},
    {"99999999999999999999999999d", std::nullopt},
};
INSTANTIATE_TEST_SUITE_P(Table, ConfigParseDurationTest, ::testing::ValuesIn(kDurations));

}  // namespace
}  // namespace correo
