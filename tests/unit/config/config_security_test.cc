// config_security_test.cc - [tls], [auth], [submission] and the listener policy flags:
// defaults by mode, and that a policy the rest of the file cannot satisfy is an error.
#include <gtest/gtest.h>

#include "tests/unit/config/config_test_util.h"

namespace correo {
namespace {

constexpr const char* kTlsAndUsers =
    "[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n[auth]\nusers_file = \"users\"\n";

TEST_F(ConfigTest, ListenerPolicyDefaultsByMode) {
  const ConfigLoad load = this->load(std::string(kTlsAndUsers) +
                                     "[[listener]]\nport = 2525\n"
                                     "[[listener]]\nport = 2587\nmode = \"submission\"\n"
                                     "[[listener]]\nport = 2465\nmode = \"smtps\"\n");
  ASSERT_TRUE(load.errors.empty()) << all_errors(load);
  const auto& l = load.config.listeners;
  ASSERT_EQ(l.size(), 3u);
  EXPECT_FALSE(l[0].require_tls);
  EXPECT_FALSE(l[0].auth);
  EXPECT_FALSE(l[0].require_auth);
  EXPECT_TRUE(l[1].require_tls);
  EXPECT_TRUE(l[1].auth);
  EXPECT_TRUE(l[1].require_auth);
  EXPECT_FALSE(l[2].require_tls);  // implicit
  EXPECT_TRUE(l[2].auth);
  EXPECT_TRUE(l[2].require_auth);
  EXPECT_EQ(load.config.tls.cert, "c.pem");
  EXPECT_EQ(load.config.auth.users_file, "users");
  EXPECT_FALSE(load.config.auth.allow_plaintext);
  EXPECT_EQ(load.config.auth.max_failures, 5u);
  EXPECT_FALSE(load.config.submission.enforce_sender);
}

TEST_F(ConfigTest, ListenerPolicyFlagsOverrideTheMode) {
  const ConfigLoad ok = this->load(
      "[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n"
      "[auth]\nusers_file = \"u\"\nallow_plaintext = true\nmax_failures = 3\nfailure_window = \"1m\"\n"
      "[submission]\nenforce_sender = true\n"
      "[[listener]]\nport = 2525\nauth = true\n"
      "[[listener]]\nport = 2587\nmode = \"submission\"\nrequire_tls = false\n");
  ASSERT_TRUE(ok.errors.empty()) << all_errors(ok);
  EXPECT_TRUE(ok.config.listeners[0].auth);
  EXPECT_FALSE(ok.config.listeners[0].require_auth);
  EXPECT_FALSE(ok.config.listeners[1].require_tls);
  EXPECT_TRUE(ok.config.auth.allow_plaintext);
  EXPECT_EQ(ok.config.auth.max_failures, 3u);
  EXPECT_EQ(ok.config.auth.failure_window, std::chrono::minutes(1));
  EXPECT_TRUE(ok.config.submission.enforce_sender);
}

struct NeedCase {
  const char* text;
  unsigned line;
  const char* key;
  const char* needle;
};

class ConfigNeedTest : public ConfigTest, public ::testing::WithParamInterface<NeedCase> {};

TEST_P(ConfigNeedTest, NamesListenerAndLine) {
  const NeedCase& c = GetParam();
  const ConfigLoad load = this->load(c.text);
  ASSERT_EQ(load.errors.size(), 1u) << all_errors(load);
  EXPECT_EQ(load.errors[0].text.rfind(prefix(c.line, c.key), 0), 0u) << load.errors[0].text;
  EXPECT_NE(load.errors[0].text.find(c.needle), std::string::npos) << load.errors[0].text;
}

const NeedCase kNeeds[] = {
    {"[[listener]]\nmode = \"smtps\"\n[auth]\nusers_file = \"u\"\n", 1, "listener[0]",
     "mode \"smtps\" needs a certificate"},
    {"[auth]\nusers_file = \"u\"\n\n[[listener]]\nmode = \"submission\"\n", 4, "listener[0]",
     "require_tls needs a certificate"},
    {"[tls]\ncert = \"c\"\nkey = \"k\"\n[[listener]]\nmode = \"submission\"\n", 4, "listener[0]",
     "require_auth needs users"},
    {"[tls]\ncert = \"c\"\nkey = \"k\"\n[[listener]]\nauth = true\n", 4, "listener[0]", "auth needs users"},
    {"[auth]\nusers_file = \"u\"\n[[listener]]\nauth = true\n", 3, "listener[0]",
     "auth is offered only after TLS"},
    {"[tls]\ncert = \"c\"\nkey = \"k\"\n[auth]\nusers_file = \"u\"\n[[listener]]\nrequire_auth = true\n", 6,
     "listener[0]", "require_auth = true needs auth = true"},
    {"[tls]\ncert = \"c.pem\"\n", 1, "tls", "cert is set but key is not"},
    {"[tls]\nkey = \"k.pem\"\n", 1, "tls", "key is set but cert is not"},
    {"[tls]\ncert = 1\n", 2, "tls.cert", "must be a string"},
    {"[tls]\ncrt = \"x\"\n", 2, "tls.crt", "did you mean cert?"},
    {"[auth]\nallow_plaintext = \"yes\"\n", 2, "auth.allow_plaintext", "must be true or false"},
    {"[auth]\nmax_failures = 0\n", 2, "auth.max_failures", ">= 1"},
    {"[auth]\nfailure_window = \"0s\"\n", 2, "auth.failure_window", ""},
    {"[submission]\nenforce_sender = 1\n", 2, "submission.enforce_sender", "must be true or false"},
    {"[[listener]]\nrequire_tls = \"no\"\n", 2, "listener[0].require_tls", "must be true or false"},
};
INSTANTIATE_TEST_SUITE_P(Policy, ConfigNeedTest, ::testing::ValuesIn(kNeeds));

}  // namespace
}  // namespace correo
