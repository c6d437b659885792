// encore::ledger::verify (ledger/): replays the journal from empty with State::apply and
// compares the rebuilt members, lots, holds, offer usage, counters and chain head with
// what is stored. Opens RocksDB read-only. (Being written by the proofs helper.)
#include "ledger/ledger.h"
