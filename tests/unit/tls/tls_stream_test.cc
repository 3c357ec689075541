// tls_stream_test.cc - a server and a client TlsStream talking through memory, as the
// worker drives them: ciphertext out of one is put into the other.
#include "tls/tls_stream.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "tests/unit/test_util/test_cert.h"

namespace correo {
namespace {

class TlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/correo-tls-XXXXXX";
    dir_ = mkdtemp(tmpl);
    cert_ = test::write_test_cert(dir_, "server", "mx.example.test");
    auto server = TlsContext::server(cert_.cert_file, cert_.key_file);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ctx_ = server.value();
    auto client = TlsContext::client(false);
    ASSERT_TRUE(client.ok());
    client_ctx_ = client.value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // pump - move ciphertext both ways until neither side has anything to say.
  static void pump(TlsStream& a, TlsStream& b, std::string& a_plain, std::string& b_plain) {
    for (int i = 0; i < 20; ++i) {
      std::string wire;
      bool moved = false;
      if (a.take_ciphertext(wire)) {
        b.put_ciphertext(wire);
        moved = true;
      }
      b.read(b_plain);
      wire.clear();
      if (b.take_ciphertext(wire)) {
        a.put_ciphertext(wire);
        moved = true;
      }
      a.read(a_plain);
      if (!moved) return;
    }
  }

  std::string dir_;
  test::TestCert cert_;
  std::shared_ptr<const TlsContext> server_ctx_;
  std::shared_ptr<const TlsContext> client_ctx_;
};

TEST_F(TlsStreamTest, HandshakeThenPlaintextBothWays) {
  auto server = TlsStream::server(server_ctx_);
  auto client = TlsStream::client(client_ctx_, "mx.example.test", false);
  std::string s_plain, c_plain;
  client->read(c_plain);  // ClientHello
  pump(*client, *server, c_plain, s_plain);
  ASSERT_TRUE(server->open()) << server->error();
  ASSERT_TRUE(client->open()) << client->error();
  EXPECT_EQ(server->info().version, "TLSv1.3");
  EXPECT_FALSE(server->info().cipher.empty());
  EXPECT_GE(server->info().bits, 128);
  EXPECT_EQ(client->verify_result(), "self-signed certificate");

  ASSERT_TRUE(client->write("EHLO client.test\r\n"));
  ASSERT_TRUE(server->write("220 hello\r\n"));
  pump(*client, *server, c_plain, s_plain);
  EXPECT_EQ(s_plain, "EHLO client.test\r\n");
  EXPECT_EQ(c_plain, "220 hello\r\n");
}

TEST_F(TlsStreamTest, LargeWriteArrivesWhole) {
  auto server = TlsStream::server(server_ctx_);
  auto client = TlsStream::client(client_ctx_, "", false);
  std::string s_plain, c_plain;
  client->read(c_plain);
  pump(*client, *server, c_plain, s_plain);
  std::string big(200000, 'x');
  ASSERT_TRUE(client->write(big));
  pump(*client, *server, c_plain, s_plain);
  EXPECT_EQ(s_plain.size(), big.size());
}

TEST_F(TlsStreamTest, CloseNotifyIsSeenAsClosed) {
  auto server = TlsStream::server(server_ctx_);
  auto client = TlsStream::client(client_ctx_, "", false);
  std::string s_plain, c_plain;
  client->read(c_plain);
  pump(*client, *server, c_plain, s_plain);
  client->close_notify();
  pump(*client, *server, c_plain, s_plain);
  EXPECT_EQ(server->state(), TlsStream::State::kClosed);
}

TEST_F(TlsStreamTest, GarbageIsAHandshakeFailure) {
  auto server = TlsStream::server(server_ctx_);
  std::string plain;
  server->put_ciphertext("RSET\r\nMAIL FROM:<a@b>\r\n");
  EXPECT_EQ(server->read(plain), TlsStream::State::kFailed);
  EXPECT_NE(server->error().find("handshake"), std::string::npos);
  EXPECT_TRUE(plain.empty());
}

TEST_F(TlsStreamTest, OldProtocolsAreRefused) {
  SSL_CTX* old = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(old, TLS1_1_VERSION);
  SSL_CTX_set_security_level(old, 0);
  SSL* ssl = SSL_new(old);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);
  char* hello = nullptr;
  const long n = BIO_get_mem_data(out, &hello);
  ASSERT_GT(n, 0);
  auto server = TlsStream::server(server_ctx_);
  server->put_ciphertext(std::string_view(hello, static_cast<size_t>(n)));
  std::string plain;
  EXPECT_EQ(server->read(plain), TlsStream::State::kFailed);
  SSL_free(ssl);
  SSL_CTX_free(old);
}

TEST_F(TlsStreamTest, VerifyingClientRefusesAnUntrustedCertificate) {
  auto verifying = TlsContext::client(true);
  ASSERT_TRUE(verifying.ok());
  auto server = TlsStream::server(server_ctx_);
  auto client = TlsStream::client(verifying.value(), "mx.example.test", true);
  std::string s_plain, c_plain;
  client->read(c_plain);
  pump(*client, *server, c_plain, s_plain);
  EXPECT_EQ(client->state(), TlsStream::State::kFailed);
  EXPECT_NE(client->error().find("certificate not trusted"), std::string::npos) << client->error();
}

TEST_F(TlsStreamTest, ServerContextErrorsNameTheFile) {
  auto missing = TlsContext::server(dir_ + "/nope.crt", cert_.key_file);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope.crt"), std::string::npos);
  const auto other = test::write_test_cert(dir_, "other", "other.test");
  auto mismatch = TlsContext::server(cert_.cert_file, other.key_file);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("does not match"), std::string::npos);
  auto ok = TlsContext::server(cert_.cert_file, cert_.key_file);
  ASSERT_TRUE(ok.ok());
  EXPECT_NE(ok.value()->description().find("CN=mx.example.test"), std::string::npos);
}

TEST_F(TlsStreamTest, SecondConnectionResumesWithTheTicket) {
  SSL_SESSION* saved = nullptr;
  for (int round = 0; round < 2; ++round) {
    auto server = TlsStream::server(server_ctx_);
    // A raw client SSL so the test can keep and offer the session.
    SSL* ssl = SSL_new(client_ctx_->raw());
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
    if (saved) SSL_set_session(ssl, saved);
    std::string s_plain;
    for (int i = 0; i < 10; ++i) {
      SSL_do_handshake(ssl);
      char buf[16];
      SSL_read(ssl, buf, sizeof buf);  // once open: takes the ticket (no application data comes)
      char* data = nullptr;
      long n = BIO_get_mem_data(out, &data);
      if (n > 0) server->put_ciphertext(std::string_view(data, static_cast<size_t>(n)));
      (void)BIO_reset(out);
      server->read(s_plain);
      std::string wire;
      if (server->take_ciphertext(wire)) BIO_write(in, wire.data(), static_cast<int>(wire.size()));
    }
    ASSERT_TRUE(server->open()) << server->error();
    EXPECT_EQ(server->info().resumed, round == 1);
    if (!saved) saved = SSL_get1_session(ssl);
    SSL_shutdown(ssl);  // a session of a connection not closed cleanly is never resumed
    SSL_free(ssl);
  }
  SSL_SESSION_free(saved);
}

}  // namespace
}  // namespace correo
