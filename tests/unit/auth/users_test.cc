// users_test.cc - the users file: accepted syntax, ownership rules, and that every problem is
// reported as "NAME:LINE: problem" with the right line and without quoting a hash or password.
#include "relay/auth/users.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

namespace correo {
namespace {

std::shared_ptr<const UserTable> parse_ok(std::string_view text) {
  auto result = UserTable::parse(text, "users");
  EXPECT_TRUE(result.ok()) << result.error().message;
  return result.ok() ? result.value() : nullptr;
}

std::string parse_error(std::string_view text) {
  auto result = UserTable::parse(text, "users");
  EXPECT_FALSE(result.ok()) << text;
  return result.ok() ? std::string() : result.error().message;
}

// TempFile - a file with given contents, removed at the end of the test.
class TempFile {
 public:
  TempFile() {
    const char* tmpdir = getenv("TMPDIR");
    path_ = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/correo_users_XXXXXX";
    fd_ = mkstemp(path_.data());
    EXPECT_GE(fd_, 0);
  }
  ~TempFile() {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
  }
  void write_all(std::string_view text) {
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = write(fd_, text.data() + done, text.size() - done);
      ASSERT_GT(n, 0);
      done += static_cast<size_t>(n);
    }
  }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(UserTable, ParsesGoodFileWithCommentsAndBlankLines) {
  auto table = parse_ok(
      "# users for correo\n"
      "\n"
      "   \n"
      "  # indented comment\n"
      "alice:$y$j9T$salt$hash\n"
      "bob@example.test:$6$salt$hash:bob@other.test,@bob.test\r\n"
      "carol : $6$salt$hash2 : \n"
      "dave:$6$x$y");  // no final newline
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->size(), 4u);
  ASSERT_NE(table->hash_of("alice"), nullptr);
  EXPECT_EQ(*table->hash_of("alice"), "$y$j9T$salt$hash");
  ASSERT_NE(table->hash_of("bob@example.test"), nullptr);
  EXPECT_EQ(*table->hash_of("bob@example.test"), "$6$salt$hash");  // "\r" stripped
  ASSERT_NE(table->hash_of("carol"), nullptr);
  EXPECT_EQ(*table->hash_of("carol"), "$6$salt$hash2");
  EXPECT_NE(table->hash_of("dave"), nullptr);
  EXPECT_EQ(table->hash_of("nobody"), nullptr);
  EXPECT_EQ(table->hash_of("ALICE"), nullptr);  // user names are exact
  EXPECT_EQ(table->hash_of("# users for correo"), nullptr);
}

TEST(UserTable, EmptyFileIsAnEmptyTable) {
  auto table = parse_ok("");
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->size(), 0u);
  EXPECT_EQ(parse_ok("# only a comment\n\n")->size(), 0u);
}

TEST(UserTable, AnyHashIsARealUsersHash) {
  auto table = UserTable::parse("alice:$y$j9T$salt$hash\n", "users");
  ASSERT_TRUE(table.ok());
  ASSERT_NE(table.value()->any_hash(), nullptr);
  EXPECT_EQ(*table.value()->any_hash(), "$y$j9T$salt$hash");
  auto empty = UserTable::parse("# nobody\n", "users");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.value()->any_hash(), nullptr);
}

TEST(UserTable, OwnsListedAddressesAndDomains) {
  auto table = parse_ok(
      "alice:$6$s$h:alice@example.test,Sales@Example.Test,@alice.test\n"
      "bob:$6$s$h\n");
  ASSERT_NE(table, nullptr);
  EXPECT_TRUE(table->owns("alice", "alice@example.test"));
  EXPECT_TRUE(table->owns("alice", "ALICE@EXAMPLE.TEST"));  // whole address case-insensitive
  EXPECT_TRUE(table->owns("alice", "sales@example.test"));
  EXPECT_TRUE(table->owns("alice", "anyone@alice.test"));
  EXPECT_TRUE(table->owns("alice", "anyone@ALICE.Test"));
  EXPECT_FALSE(table->owns("alice", "anyone@sub.alice.test"));  // a domain entry is that domain only
  EXPECT_FALSE(table->owns("alice", "alice.test"));
  EXPECT_FALSE(table->owns("alice", "other@example.test"));
  EXPECT_FALSE(table->owns("alice", ""));
  EXPECT_FALSE(table->owns("alice", "alice"));  // a name without '@' is not an address
  EXPECT_FALSE(table->owns("bob", "bob@example.test"));
  EXPECT_FALSE(table->owns("bob", "alice@example.test"));
  EXPECT_FALSE(table->owns("nobody", "alice@example.test"));
}

TEST(UserTable, UserNameWithAtOwnsThatAddress) {
  auto table = parse_ok("bob@example.test:$6$s$h\n");
  ASSERT_NE(table, nullptr);
  EXPECT_TRUE(table->owns("bob@example.test", "bob@example.test"));
  EXPECT_TRUE(table->owns("bob@example.test", "Bob@Example.TEST"));
  EXPECT_FALSE(table->owns("bob@example.test", "bob2@example.test"));
  EXPECT_FALSE(table->owns("bob@example.test", "other@example.test"));
  EXPECT_FALSE(table->owns("Bob@example.test", "bob@example.test"));  // not a user (names are exact)
}

TEST(UserTable, ReportsEachProblemWithItsLine) {
  const std::string head = "# header\nalice:$6$s$h\n\n";  // the bad line is line 4
  struct Case {
    std::string line;
    std::string problem;
  };
  const Case cases[] = {
      {"bob", "users:4: missing ':'"},
      {":$6$s$h", "users:4: empty user name"},
      {"  :$6$s$h", "users:4: empty user name"},
      {"bob:", "users:4: empty hash"},
      {"bob: :x@y.test", "users:4: empty hash"},
      {"bob:hunter2", "users:4: hash does not start with '$'"},
      {"bob:abJnggxhB/yWI", "users:4: hash does not start with '$'"},  // DES
      {"alice:$6$s$other", "users:4: duplicate user 'alice'"},
      {"bob:$6$s$h:x@y.test,,z@y.test", "users:4: empty entry"},
      {"bob:$6$s$h:x@y.test,", "users:4: empty entry"},
      {"bob:$6$s$h:x@y.test, ", "users:4: empty entry"},
      {"bob:$6$s$h:,x@y.test", "users:4: empty entry"},
      {"bob:$6$s$h:example.test", "users:4: owned entry 'example.test' is neither"},
      {"bob:$6$s$h:@", "users:4: owned entry '@' is neither"},
      {"bob:$6$s$h:bob@", "users:4: owned entry 'bob@' is neither"},
      {"bob:$6$s$h:@a@b", "users:4: owned entry '@a@b' is neither"},
      {"bob:$6$s$h:" + std::string(5000, 'x'), "users:4: line longer than 4096 bytes"},
  };
  for (const auto& c : cases) {
    const std::string error = parse_error(head + c.line + "\nzed:$6$s$h\n");
    EXPECT_EQ(error.rfind(c.problem, 0), 0u) << "line: " << c.line << "\nerror: " << error;
  }
}

TEST(UserTable, LineLengthLimitIsExact) {
  const std::string prefix = "bob:$6$";
  const std::string exact = prefix + std::string(UserTable::kMaxLineBytes - prefix.size(), 'h');
  EXPECT_NE(parse_ok(exact + "\n"), nullptr);
  EXPECT_EQ(parse_error(exact + "h\n").rfind("users:1: line longer than 4096 bytes", 0), 0u);
  // A long comment is still a long line: the limit is on what we read, before interpreting it.
  EXPECT_EQ(parse_error("#" + std::string(4096, 'c')).rfind("users:1: line longer", 0), 0u);
}

TEST(UserTable, ErrorsNeverQuoteHashesOrPasswords) {
  const std::string hash = "$6$SALTSALT$SECRETHASHVALUE";
  for (const std::string& text : {
           "alice:" + hash + "\nalice:" + hash + "\n",        // duplicate
           "alice:" + hash + ":not-an-address\n",            // bad owned entry
           std::string("alice:hunter2-SECRETHASHVALUE\n"),   // plain text password
           std::string("alice SECRETHASHVALUE\n"),           // missing ':'
           "alice:" + hash + std::string(5000, 'X') + "\n",  // too long
       }) {
    const std::string error = parse_error(text);
    EXPECT_EQ(error.find("SECRETHASHVALUE"), std::string::npos) << error;
    EXPECT_EQ(error.find("SALTSALT"), std::string::npos) << error;
  }
}

TEST(UserTable, RefusesMoreThanAMillionUsers) {
  std::string text;
  text.reserve(16 * (UserTable::kMaxUsers + 1));
  for (size_t i = 0; i < UserTable::kMaxUsers; ++i) text += "u" + std::to_string(i) + ":$6$\n";
  {
    auto table = parse_ok(text);
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->size(), UserTable::kMaxUsers);
  }
  text += "one-more:$6$\n";
  EXPECT_EQ(parse_error(text), "users:1000001: more than 1000000 users");
}

TEST(UserTable, LoadsFromFile) {
  TempFile file;
  file.write_all("alice:$y$j9T$s$h:@example.test\n");
  auto result = UserTable::load(file.path());
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_NE(result.value()->hash_of("alice"), nullptr);
  EXPECT_TRUE(result.value()->owns("alice", "x@example.test"));
}

TEST(UserTable, LoadErrorsNameThePath) {
  TempFile file;
  file.write_all("alice:$6$s$h\nbob\n");
  auto bad_line = UserTable::load(file.path());
  ASSERT_FALSE(bad_line.ok());
  EXPECT_EQ(bad_line.error().message.rfind(file.path() + ":2: missing ':'", 0), 0u) << bad_line.error().message;

  auto missing = UserTable::load("/nonexistent/correo/users");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "/nonexistent/correo/users: cannot open: No such file or directory");
}

TEST(UserTable, RefusesFilesOver64MiB) {
  TempFile file;
  // Sparse: costs no disk, and the size check must refuse it before reading it.
  ASSERT_EQ(ftruncate(file.fd(), static_cast<off_t>(UserTable::kMaxFileBytes) + 1), 0);
  auto result = UserTable::load(file.path());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, file.path() + ": larger than 64 MiB; refusing to load it");

  // Exactly at the limit is read (and then fails on content: NUL bytes, no ':').
  ASSERT_EQ(ftruncate(file.fd(), static_cast<off_t>(UserTable::kMaxFileBytes)), 0);
  auto at_limit = UserTable::load(file.path());
  ASSERT_FALSE(at_limit.ok());
  EXPECT_NE(at_limit.error().message.find("line longer than"), std::string::npos) << at_limit.error().message;
}

}  // namespace
}  // namespace correo
