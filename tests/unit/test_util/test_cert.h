// test_cert.h - a throwaway self-signed certificate (P-256) written as PEM files, so TLS
// tests need no fixtures on disk and no openssl command.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <string>

namespace correo::test {

struct TestCert {
  std::string cert_file;
  std::string key_file;
};

// write_test_cert - files <dir>/<name>.crt and .key, CN = cn, valid from now for a day.
inline TestCert write_test_cert(const std::string& dir, const std::string& name, const std::string& cn) {
  TestCert out{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x, subject);
  X509_sign(x, key, EVP_sha256());
  FILE* f = fopen(out.cert_file.c_str(), "w");
  PEM_write_X509(f, x);
  fclose(f);
  f = fopen(out.key_file.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace correo::test
