// The end-to-end harness: starts the real encored binary on a free loopback port with a
// temp data dir, rule files written by the test and a keys file; a small synchronous
// Beast HTTP/1.1 client; JSON reading of answers (Boost.JSON).
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace encore::e2e {

namespace json = boost::json;

// API keys of the test server, one per role.
inline constexpr const char* pos_key = "pos-secret-1";
inline constexpr const char* marketing_key = "marketing-secret-1";
inline constexpr const char* read_key = "read-secret-1";
inline constexpr const char* admin_key = "admin-secret-1";

// A small program: 1 point per 1.00, no pending days, 365-day expiry, and one offer giving
// 50 points on purchases of 100.00 or more.
std::map<std::string, std::string> default_rules();

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  json::value json() const;  // the body parsed; null when it is not JSON
  std::string header(const std::string& lower_name) const;
  std::string code() const;  // problem+json "code", "" when none
};

struct Header {
  std::string name;
  std::string value;
};

// One keep-alive connection.
class Client {
 public:
  explicit Client(unsigned short port);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Reply request(const std::string& method, const std::string& target,
                const std::vector<Header>& headers = {}, const std::string& body = {});
  // GET/POST with a key (and a JSON body with Content-Type for POST/PATCH).
  Reply get(const std::string& target, const char* key);
  Reply post(const std::string& target, const char* key, const std::string& body,
             const std::optional<std::string>& idempotency_key = std::nullopt);
  Reply patch(const std::string& target, const char* key, const std::string& body);
  // Sends raw bytes and reads one answer (for malformed requests).
  Reply raw(const std::string& bytes);
  // The two halves of raw(), for a request sent in parts: send() writes bytes without
  // reading; read() reads one answer (an interim 100 Continue counts as one).
  void send(const std::string& bytes);
  Reply read();
  // True when the server closed the connection (a read sees end of stream).
  bool closed_by_server();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ServerConfig {
  std::map<std::string, std::string> rules = default_rules();
  bool manual_clock = true;
  std::vector<std::string> extra_args;
  // When set, no file encored writes may grow past this many bytes (RLIMIT_FSIZE, with
  // SIGXFSZ ignored): a write beyond it fails with EFBIG, as on a full disk.
  std::optional<std::uint64_t> file_size_limit;
};

// A running encored. The destructor kills it if stop() was not called.
class Server {
 public:
  explicit Server(ServerConfig config = {});
  // Starts on an existing data dir (restart).
  Server(ServerConfig config, const std::filesystem::path& dir);
  ~Server();

  unsigned short port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& rules_dir() const { return rules_dir_; }
  bool running() const { return pid_ > 0; }
  Client client() const { return Client(port_); }
  // SIGTERM, then waits; returns the exit status (or -signal). Keeps the temp dir.
  int stop(std::chrono::seconds timeout = std::chrono::seconds(20));
  void signal(int sig) const;
  std::string output() const;  // what encored wrote to stdout and stderr
  // Leaves the temp dir in place (for a restart on the same data).
  void keep_dir() { keep_ = true; }

 private:
  void launch();
  ServerConfig config_;
  std::filesystem::path dir_;
  std::filesystem::path rules_dir_;
  unsigned short port_ = 0;
  int pid_ = -1;
  bool keep_ = false;
};

// Runs encored to completion with these arguments (for refused startups): exit status and
// output.
struct RunResult {
  int status = -1;
  std::string output;
};
RunResult run_encored(const std::vector<std::string>& args, std::chrono::seconds timeout);

std::filesystem::path make_temp_dir();
void write_file(const std::filesystem::path& path, const std::string& text);
unsigned short free_port();
const char* encored_path();

}  // namespace encore::e2e
