// users.cc - line-by-line parsing with "PATH:LINE: problem" errors, and the ownership check.
//
// Addresses are compared case-insensitively as a whole (ASCII), local part included. RFC 5321
// lets a domain treat local parts case-sensitively, but no real mailbox pair differs only by
// case, and an exact local part would make "Alice@example.test" fail for user alice@... for no
// benefit. Domains are always case-insensitive.
#include "relay/auth/users.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "relay/common/ascii.h"

namespace correo {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// domain_of - the part after the last '@' (a quoted local part may itself contain '@').
std::string_view domain_of(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

constexpr std::string_view kBadHash =
    "hash does not start with '$'; plain-text and DES hashes are refused (make one with mkpasswd -m yescrypt)";

// read_bounded - the whole file, refusing anything over UserTable::kMaxFileBytes without reading
// it all (the size is checked up front and again while reading, in case the file grows).
Status read_bounded(const std::string& path, std::string& text) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{path + ": cannot open: " + strerror(errno)};
  const std::string too_big = path + ": larger than " + std::to_string(UserTable::kMaxFileBytes / (1024 * 1024)) +
                              " MiB; refusing to load it";
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(UserTable::kMaxFileBytes)) {
    close(fd);
    return Error{too_big};
  }
  char buf[65536];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      close(fd);
      return Error{path + ": cannot read: " + strerror(saved)};
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > UserTable::kMaxFileBytes) {
      close(fd);
      return Error{too_big};
    }
  }
  close(fd);
  return Ok{};
}

}  // namespace

Result<std::shared_ptr<const UserTable>> UserTable::load(const std::string& path) {
  std::string text;
  if (Status read = read_bounded(path, text); !read) return read.error();
  return parse(text, path);
}

Result<std::shared_ptr<const UserTable>> UserTable::parse(std::string_view text, const std::string& name_for_errors) {
  if (text.size() > kMaxFileBytes) {
    return Error{name_for_errors + ": larger than " + std::to_string(kMaxFileBytes / (1024 * 1024)) +
                 " MiB; refusing to load it"};
  }
  std::shared_ptr<UserTable> table(new UserTable);
  size_t line_number = 0;
  auto fail = [&](std::string_view problem) {
    return Error{name_for_errors + ":" + std::to_string(line_number) + ": " + std::string(problem)};
  };

  while (!text.empty()) {
    ++line_number;
    const size_t newline = text.find('\n');
    const std::string_view raw = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (raw.size() > kMaxLineBytes) return fail("line longer than " + std::to_string(kMaxLineBytes) + " bytes");
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;

    // The line itself is never quoted in errors: a mistyped line may hold a password or hash.
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail("missing ':' between user name and hash");
    const std::string_view user = trim(line.substr(0, colon));
    const std::string_view rest = line.substr(colon + 1);
    const size_t second_colon = rest.find(':');
    const std::string_view hash = trim(rest.substr(0, second_colon));
    const std::string_view owned =
        second_colon == std::string_view::npos ? std::string_view() : trim(rest.substr(second_colon + 1));
    if (user.empty()) return fail("empty user name");
    if (hash.empty()) return fail("empty hash for user '" + std::string(user) + "'");
    if (hash.front() != '$') return fail(std::string(kBadHash) + " (user '" + std::string(user) + "')");

    Entry entry;
    entry.hash = std::string(hash);
    // An empty list after a second ':' is allowed ("user:hash:"); an empty item inside one is a typo.
    for (std::string_view list = owned; !list.empty();) {
      const size_t comma = list.find(',');
      const std::string_view item = trim(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      if (item.empty() || (comma != std::string_view::npos && trim(list).empty())) {
        return fail("empty entry in the owned address list");
      }
      // "@domain" names a whole domain; anything else is an address split at its last '@'
      // (a quoted local part may contain '@'). Owned addresses are not secret, so quote them.
      const size_t at = item.rfind('@');
      const bool domain_entry = item.front() == '@';
      const bool valid = domain_entry ? item.size() > 1 && at == 0
                                      : at != std::string_view::npos && at > 0 && at + 1 < item.size();
      if (!valid) return fail("owned entry '" + std::string(item) + "' is neither local@domain nor @domain");
      if (domain_entry) {
        entry.domains.push_back(lowercase(item.substr(1)));
      } else {
        entry.addresses.push_back(lowercase(item));
      }
    }

    if (table->users_.size() >= kMaxUsers) return fail("more than " + std::to_string(kMaxUsers) + " users");
    if (!table->users_.emplace(std::string(user), std::move(entry)).second) {
      return fail("duplicate user '" + std::string(user) + "'");
    }
  }
  return std::shared_ptr<const UserTable>(std::move(table));
}

const std::string* UserTable::hash_of(std::string_view user) const {
  const auto it = users_.find(user);
  return it == users_.end() ? nullptr : &it->second.hash;
}

bool UserTable::owns(std::string_view user, std::string_view address) const {
  const auto it = users_.find(user);
  if (it == users_.end() || address.empty()) return false;
  if (user.find('@') != std::string_view::npos && iequals(user, address)) return true;
  const Entry& entry = it->second;
  for (const std::string& owned : entry.addresses) {
    if (iequals(owned, address)) return true;
  }
  const std::string_view domain = domain_of(address);
  if (domain.empty()) return false;
  for (const std::string& owned : entry.domains) {
    if (iequals(owned, domain)) return true;
  }
  return false;
}

}  // namespace correo
