// tls_info.h - what the Received: header and the logs record about a TLS session. Plain
// data, so the SMTP session (relay/smtp) knows TLS happened without depending on OpenSSL.
#pragma once

#include <string>

namespace correo {

struct TlsInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  int bits = 0;
  bool resumed = false;
};

}  // namespace correo
