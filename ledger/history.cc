// encore::ledger::for_each_event (ledger/): reads the `events` family of a data dir opened
// read-only, so a running server is not disturbed (no lock, no writes).
#include "ledger/history.h"

#include <memory>
#include <system_error>
#include <utility>

#include "ledger/internal/codec.h"
#include "ledger/internal/event_record.h"
#include "ledger/internal/store.h"

namespace encore::ledger {

namespace {

Result<std::unique_ptr<internal::Store>> open_read_only(const std::filesystem::path& data_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec)) {
    return make_error(ErrorCode::not_found, "no data dir at " + data_dir.string());
  }
  if (!std::filesystem::exists(data_dir / "CURRENT", ec)) {  // RocksDB's file of every db
    return make_error(ErrorCode::not_found,
                      data_dir.string() + " is not an Encore data dir (it holds no database)");
  }
  return internal::Store::open(data_dir, internal::OpenMode::read_only);
}

}  // namespace

Result<std::vector<rules::RuleFile>> stored_rule_set(const std::filesystem::path& data_dir,
                                                     const std::string& version) {
  ENCORE_ASSIGN_OR_RETURN(auto store, open_read_only(data_dir));
  ENCORE_ASSIGN_OR_RETURN(auto value, store->get(internal::Family::rulesets, version));
  if (!value) return make_error(ErrorCode::not_found, "rule set " + version + " is not stored");
  return internal::decode_rule_files(*value);
}

Status for_each_event(const std::filesystem::path& data_dir, Timestamp from, Timestamp to,
                      const std::function<bool(const RecordedEvent&)>& fn) {
  ENCORE_ASSIGN_OR_RETURN(auto store, open_read_only(data_dir));
  Status decoded;
  ENCORE_RETURN_IF_ERROR(store->scan(
      internal::Family::events, "", "", [&](std::string_view key, std::string_view value) {
        RecordedEvent r;
        if (key.size() != 8) {
          decoded = make_error(ErrorCode::internal, "corrupt event key");
          return false;
        }
        r.number = internal::be64_value(key);
        decoded = internal::decode_event_record(value, &r);
        if (!decoded) {
          decoded = make_error(ErrorCode::internal, "event " + std::to_string(r.number) + ": " +
                                                        decoded.error().detail);
          return false;
        }
        if (r.event.time < from || !(r.event.time < to)) return true;
        return fn(r);
      }));
  return decoded;
}

}  // namespace encore::ledger
