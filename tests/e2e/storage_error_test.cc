// Proves what docs/operations.md and docs/storage.md say of a storage error, on the real
// encored: once the disk refuses a write (here the WAL cannot grow: RLIMIT_FSIZE, EFBIG, as
// on a full disk) writes are answered 503 unavailable, reads go on, /readyz is 503, /metrics
// says encore_ledger_storage_failed 1 and the process stays up; after a restart every
// purchase answered 201 is there, and a retry of each refused one applies it once.
//
// Before the syncer's WAL flush was kept apart from the writer's writes, the writer's next
// batch after the failed flush appended to the failed WAL writer and RocksDB's assertion
// aborted encored: /healthz stopped answering here.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/contract_support.h"
#include "tests/e2e/harness.h"

using namespace encore::e2e;
using namespace encore::e2e::contract;

namespace {

constexpr int kClients = 8;
constexpr int kPurchasesMax = 20'000;  // far more than 1 MiB of WAL holds
// A purchase of 5.00 by m-1 earns 5 points with default_rules().
const std::string kPurchase =
    R"({"member": "m-1", "type": "purchase", "basket": {"total": "5.00"}})";
constexpr std::int64_t kPoints = 5;

struct Sent {
  std::string key;
  int status = 0;
  std::string code;
};

// Clients post purchases until each got a refusal; returns every one sent.
std::vector<Sent> purchase_until_refused(const Server& s) {
  std::mutex mu;
  std::vector<Sent> sent;
  std::atomic<int> count{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      Client c = s.client();
      for (int i = 0; count++ < kPurchasesMax; ++i) {
        const std::string key = "disk-" + std::to_string(t) + "-" + std::to_string(i);
        Sent p{key, 0, "connection lost"};  // what a server that died leaves
        try {
          Reply r = c.post("/v1/events", pos_key, kPurchase, key);
          p.status = r.status;
          p.code = r.code();
        } catch (const std::exception&) {
        }
        std::lock_guard lock(mu);
        sent.push_back(p);
        if (p.status != 201) return;
      }
    });
  }
  for (auto& c : clients) c.join();
  return sent;
}

}  // namespace

TEST_CASE("a storage error: writes 503, reads go on, /readyz 503, nothing acknowledged lost") {
  ServerConfig limited;
  limited.file_size_limit = std::uint64_t{1} << 20;
  Server s(limited);
  s.keep_dir();
  Client c = s.client();
  enroll_member(c, "m-1");

  const std::vector<Sent> sent = purchase_until_refused(s);
  std::int64_t acknowledged = 0;
  for (const auto& p : sent) {
    CAPTURE(p.key);
    if (p.status == 201) {
      ++acknowledged;
    } else {
      CHECK(p.status == 503);
      CHECK(p.code == "unavailable");
    }
  }
  REQUIRE_MESSAGE(acknowledged < static_cast<std::int64_t>(sent.size()),
                  "the file size limit was never reached");
  MESSAGE(acknowledged << " of " << sent.size() << " purchases answered 201 before the error");

  // The process is up: health answers, readiness and writes do not, reads do.
  Client after = s.client();
  CHECK(after.get("/healthz", nullptr).status == 200);
  Reply ready = after.get("/readyz", nullptr);
  CHECK(ready.status == 503);
  CHECK(ready.code() == "unavailable");
  Reply more = after.post("/v1/events", pos_key, kPurchase, "disk-after");
  CHECK(more.status == 503);
  CHECK(more.code() == "unavailable");
  const std::string metrics = after.get("/metrics", admin_key).body;
  CHECK(metrics.find("\nencore_ledger_storage_failed 1\n") != std::string::npos);
  // Reads show what was acknowledged, nothing that was not synced.
  CHECK(int_at(balance_of(after, "m-1"), "available") == acknowledged * kPoints);
  CHECK(s.stop() >= 0);  // exited, not killed by a signal (an assertion's abort)

  // Restarted without the limit: the acknowledged purchases replay, the refused ones apply
  // now or replay (written before the error yet never acknowledged), each counted once.
  Server again(ServerConfig{}, s.dir());
  Client r = again.client();
  CHECK(r.get("/metrics", admin_key).body.find("\nencore_ledger_storage_failed 0\n") !=
        std::string::npos);
  for (const auto& p : sent) {
    CAPTURE(p.key);
    Reply retry = r.post("/v1/events", pos_key, kPurchase, p.key);
    CHECK(retry.status == 201);
    if (p.status == 201) CHECK(retry.header("idempotent-replayed") == "true");
  }
  CHECK(int_at(balance_of(r, "m-1"), "available") ==
        static_cast<std::int64_t>(sent.size()) * kPoints);
}
