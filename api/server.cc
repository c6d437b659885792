#include "api/server.h"
