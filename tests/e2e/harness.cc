// The end-to-end harness: process control (fork/exec of encored, SIGTERM, waitpid) and a
// synchronous Beast client.
#include "tests/e2e/harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/src.hpp>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace encore::e2e {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

const char* encored_path() {
  const char* env = std::getenv("ENCORED");
  return env != nullptr ? env : ENCORE_ENCORED_PATH;
}

std::map<std::string, std::string> default_rules() {
  return {
      {"program.json", R"({
  "program": {
    "name": "Test Club",
    "currency": "USD",
    "base_earn": {"points": 1, "per": "1.00"},
    "rounding": "floor",
    "pending_days": 0,
    "expiry": {"policy": "fixed", "days": 365},
    "max_backdate_days": 7
  }
}
)"},
      {"offers.json", R"({
  "offers": [
    {
      "id": "big-basket",
      "name": "Big basket bonus",
      "description": "50 points on purchases of 100.00 or more.",
      "on": "purchase",
      "when": "event.total >= 100",
      "award": "50"
    }
  ]
}
)"},
  };
}

std::filesystem::path make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "encore-e2e-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

unsigned short free_port() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// ---- Reply -----------------------------------------------------------------------

json::value Reply::json() const {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  return ec ? json::value() : v;
}

std::string Reply::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string Reply::code() const {
  auto v = json();
  if (!v.is_object()) return {};
  auto* c = v.as_object().if_contains("code");
  return c != nullptr && c->is_string() ? std::string(c->as_string()) : std::string();
}

// ---- Client ----------------------------------------------------------------------

struct Client::Impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  unsigned short port;

  explicit Impl(unsigned short p) : port(p) { connect(); }
  void connect() {
    buffer.clear();
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  Reply read_reply() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    stream.expires_after(std::chrono::seconds(30));
    http::read(stream, buffer, parser);
    auto& res = parser.get();
    Reply r;
    r.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    r.body = std::move(res.body());
    if (!res.keep_alive()) {
      beast::error_code ec;
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream.close();
    }
    return r;
  }
};

Client::Client(unsigned short port) : impl_(std::make_unique<Impl>(port)) {}
Client::~Client() = default;

Reply Client::request(const std::string& method, const std::string& target,
                      const std::vector<Header>& headers, const std::string& body) {
  if (!impl_->stream.socket().is_open()) impl_->connect();
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  if (req.method() == http::verb::unknown) req.method_string(method);
  req.set(http::field::host, "127.0.0.1");
  for (const auto& h : headers) req.set(h.name, h.value);
  req.body() = body;
  if (!body.empty() || method == "POST" || method == "PATCH") req.prepare_payload();
  impl_->stream.expires_after(std::chrono::seconds(30));
  http::write(impl_->stream, req);
  return impl_->read_reply();
}

Reply Client::get(const std::string& target, const char* key) {
  std::vector<Header> h;
  if (key != nullptr) h.push_back({"Authorization", std::string("Bearer ") + key});
  return request("GET", target, h);
}

Reply Client::post(const std::string& target, const char* key, const std::string& body,
                   const std::optional<std::string>& idempotency_key) {
  std::vector<Header> h{{"Content-Type", "application/json"}};
  if (key != nullptr) h.push_back({"Authorization", std::string("Bearer ") + key});
  if (idempotency_key) h.push_back({"Idempotency-Key", *idempotency_key});
  return request("POST", target, h, body);
}

Reply Client::patch(const std::string& target, const char* key, const std::string& body) {
  std::vector<Header> h{{"Content-Type", "application/json"}};
  if (key != nullptr) h.push_back({"Authorization", std::string("Bearer ") + key});
  return request("PATCH", target, h, body);
}

Reply Client::raw(const std::string& bytes) {
  send(bytes);
  return read();
}

void Client::send(const std::string& bytes) {
  if (!impl_->stream.socket().is_open()) impl_->connect();
  asio::write(impl_->stream.socket(), asio::buffer(bytes));
}

Reply Client::read() { return impl_->read_reply(); }

bool Client::closed_by_server() {
  if (!impl_->stream.socket().is_open()) return true;
  beast::error_code ec;
  char c;
  impl_->stream.expires_after(std::chrono::seconds(5));
  impl_->stream.read_some(asio::buffer(&c, 1), ec);
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

// ---- Server ----------------------------------------------------------------------

namespace {

int spawn(const std::vector<std::string>& args, const std::filesystem::path& log,
          std::optional<std::uint64_t> file_size_limit = std::nullopt) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    if (file_size_limit) {
      // An ignored signal stays ignored across exec: writes past the limit fail (EFBIG)
      // instead of killing the process.
      signal(SIGXFSZ, SIG_IGN);
      const rlimit limit{*file_size_limit, *file_size_limit};
      setrlimit(RLIMIT_FSIZE, &limit);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Waits for pid; returns the exit status, -signal, or -1000 on timeout (then kills it).
int wait_exit(int pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return -WTERMSIG(status);
      return -999;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1000;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Server::Server(ServerConfig config) : config_(std::move(config)), dir_(make_temp_dir()) {
  launch();
}

Server::Server(ServerConfig config, const std::filesystem::path& dir)
    : config_(std::move(config)), dir_(dir) {
  launch();
}

void Server::launch() {
  rules_dir_ = dir_ / "rules";
  std::filesystem::create_directories(rules_dir_);
  for (const auto& entry : std::filesystem::directory_iterator(rules_dir_)) {
    std::filesystem::remove(entry.path());
  }
  for (const auto& [name, text] : config_.rules) write_file(rules_dir_ / name, text);
  write_file(dir_ / "keys", std::string("pos:") + pos_key + "\nmarketing:" + marketing_key +
                                "\nread:" + read_key + "\nadmin:" + admin_key + "\n");
  port_ = free_port();
  std::vector<std::string> args = {encored_path(),
                                   "--data",
                                   (dir_ / "data").string(),
                                   "--rules",
                                   rules_dir_.string(),
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(port_),
                                   "--keys",
                                   (dir_ / "keys").string(),
                                   "--threads",
                                   "2"};
  if (config_.manual_clock) args.push_back("--manual-clock");
  for (const auto& a : config_.extra_args) args.push_back(a);
  pid_ = spawn(args, dir_ / "encored.log", config_.file_size_limit);
  // Wait for /readyz.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("encored exited at start: " + output());
    }
    try {
      Client c(port_);
      if (c.get("/readyz", nullptr).status == 200) return;
    } catch (const std::exception&) {
      // not listening yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("encored did not become ready: " + output());
}

Server::~Server() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (!keep_) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void Server::signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

int Server::stop(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const int r = wait_exit(pid_, timeout);
  pid_ = -1;
  return r;
}

std::string Server::output() const { return read_text(dir_ / "encored.log"); }

RunResult run_encored(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  auto dir = make_temp_dir();
  std::vector<std::string> full{encored_path()};
  full.insert(full.end(), args.begin(), args.end());
  RunResult r;
  const int pid = spawn(full, dir / "out.log");
  r.status = wait_exit(pid, timeout);
  r.output = read_text(dir / "out.log");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return r;
}

}  // namespace encore::e2e
