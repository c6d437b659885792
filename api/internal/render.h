// JSON renderings of the ledger's objects (api/internal), field by field as API.md
// names them. Additions beyond API.md are noted in docs/api.md.
#pragma once

#include <string>

#include "api/internal/json_writer.h"
#include "ledger/ledger.h"

namespace encore::api::internal {

void write_balance(JsonWriter& w, const ledger::Balance& b);
void write_entry(JsonWriter& w, const ledger::Entry& e);
void write_attributes(JsonWriter& w, const rules::Attributes& attributes);
// with_balance: GET member and PATCH include "balance" when one is given.
void write_member(JsonWriter& w, const ledger::Member& m, const ledger::Balance* balance);
void write_hold(JsonWriter& w, const ledger::Hold& h);
void write_offer_points(JsonWriter& w, const std::vector<ledger::OfferPoints>& offers);
void write_optional_time(JsonWriter& w, std::string_view key, const std::optional<Timestamp>& t);

}  // namespace encore::api::internal
