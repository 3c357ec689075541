// capabilities.h - what a server's EHLO reply offers that correo-blast can use.
#pragma once

#include <string>
#include <vector>

namespace correo::blast {

struct Capabilities {
  bool pipelining = false;  // RFC 2920: send MAIL, RCPTs and DATA in one write
  bool starttls = false;    // RFC 3207
  bool auth_plain = false;  // RFC 4954 with the PLAIN mechanism (RFC 4616)
  bool size = false;        // RFC 1870: MAIL FROM may declare SIZE=n
};

// parse_capabilities - from the EHLO lines after the greeting line ("PIPELINING",
// "AUTH LOGIN PLAIN", "SIZE 10240000"); keywords compare case-insensitively.
Capabilities parse_capabilities(const std::vector<std::string>& keyword_lines);

}  // namespace correo::blast
