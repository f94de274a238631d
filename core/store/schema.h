// The schema, as the list of migrations that build it: version N is migrations 1..N applied in
// order, each in its own transaction, and PRAGMA user_version says which have run. A database is
// never changed by anything but these steps, so every older version upgrades the same way.
#pragma once

#include <string_view>
#include <vector>

namespace statescope {

class Connection;

// The version this build writes. A database with a higher user_version is refused, untouched.
constexpr int kSchemaVersion = 2;
// PRAGMA application_id ("STSC"), set by migration 1: tells our databases from other SQLite files.
constexpr int kApplicationId = 0x53545343;

struct Migration {
    int version;               // user_version after this step
    std::string_view summary;  // for error messages and docs
    std::string_view sql;
};

const std::vector<Migration>& migrations();

// Applies the missing steps up to `target` (tests build older fixtures with target < current).
// Each step re-reads user_version inside its write transaction, so two processes opening the same
// old database migrate it once. Throws Error naming the path and the step; the database then stays
// at the last version that committed.
void migrate(Connection& db, int target = kSchemaVersion);

}  // namespace statescope
