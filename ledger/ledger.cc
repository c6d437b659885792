// Placeholder: see ledger/ledger.h.
#include "ledger/ledger.h"
