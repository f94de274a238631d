// What is at the database path decides what open does: a damaged or non-SQLite file is moved aside
// (never deleted) with a clear error, a newer or foreign database is refused and left byte for
// byte as it was.
#include <sqlite3.h>

#include "core/error.h"
#include "core/store/schema.h"
#include "tests/store/store_test_util.h"

namespace statescope {
namespace {

using namespace statescope::test;

std::vector<fs::path> entries_starting_with(const fs::path& dir, const std::string& prefix) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
    }
    return out;
}

std::string open_error(const fs::path& db) {
    try {
        SessionStore store(db);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// A raw SQLite file made without the store (another application's, or one from the future).
// keep_wal: what the statements wrote stays in the -wal (not checkpointed into the file).
void make_raw_db(const fs::path& p, const std::string& sql, bool keep_wal = false) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK);
    if (keep_wal) sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
}

TEST(store_open_faults, NotSqliteIsMovedAsideAndKept) {
    ScratchDir dir;
    const fs::path db = dir / "sessions.db";
    const std::string junk = "these are my notes, not a database\n" + std::string(5000, 'x');
    write_file(db, junk);
    const std::string err = open_error(db);
    EXPECT_NE(err.find("is not a SQLite database"), std::string::npos) << err;
    EXPECT_NE(err.find("nothing was deleted"), std::string::npos) << err;
    EXPECT_FALSE(fs::exists(db));
    const auto aside = entries_starting_with(dir.path(), "sessions.db.corrupt-");
    ASSERT_EQ(aside.size(), 1u);
    EXPECT_NE(err.find(aside[0].string()), std::string::npos) << "the message names where it went";
    EXPECT_EQ(slurp(aside[0]), junk);
    // The next open starts a fresh database and leaves the set-aside file alone.
    {
        SessionStore store(db);
        store.create_session("new");
        store.flush();
    }
    EXPECT_EQ(slurp(aside[0]), junk);
}

TEST(store_open_faults, ShortFileAndSecondCorruptionDoNotCollide) {
    ScratchDir dir;
    const fs::path db = dir / "s.db";
    write_file(db, "SQLite format 3");  // the magic without the rest of the header
    EXPECT_NE(open_error(db).find("not a SQLite database"), std::string::npos);
    write_file(db, std::string(200, '\0'));
    EXPECT_NE(open_error(db).find("not a SQLite database"), std::string::npos);
    // Same second, same name: the second one gets a suffix instead of replacing the first.
    EXPECT_EQ(entries_starting_with(dir.path(), "s.db.corrupt-").size(), 2u);
}

TEST(store_open_faults, DamagedPagesAreMovedAsideWithTheirWal) {
    ScratchDir dir;
    const fs::path db = dir / "sessions.db";
    {
        StoreOptions o;
        SessionStore store(db, o);
        for (int i = 0; i < 200; ++i) {
            auto s = store.create_session("session " + std::to_string(i));
            store.add_message(s, {}, Role::User, std::string(2000, 'a' + i % 26));
        }
        store.flush();
    }
    ASSERT_FALSE(fs::exists(db.string() + "-wal")) << "a clean close checkpoints the WAL away";
    // Scribble over the middle of the file (b-tree pages), keeping the header valid.
    std::string bytes = slurp(db);
    ASSERT_GT(bytes.size(), 100000u);
    for (std::size_t i = 40960; i < 90000; ++i) bytes[i] = static_cast<char>(i * 7919);
    write_file(db, bytes);
    write_file(db.string() + "-wal", "");  // a (harmless, empty) WAL that must move along
    const std::string err = open_error(db);
    EXPECT_NE(err.find("is damaged"), std::string::npos) << err;
    const auto aside = entries_starting_with(dir.path(), "sessions.db.corrupt-");
    EXPECT_FALSE(fs::exists(db));
    EXPECT_FALSE(fs::exists(db.string() + "-wal"));
    bool found_main = false;
    bool found_wal = false;
    for (const auto& p : aside) {
        found_main = found_main || slurp(p) == bytes;
        found_wal = found_wal || p.string().ends_with("-wal");
    }
    EXPECT_TRUE(found_main) << "the damaged file itself, byte for byte";
    EXPECT_TRUE(found_wal) << "its WAL moved along (else a new database would replay it)";
}

TEST(store_open_faults, NewerSchemaIsRefusedUntouched) {
    ScratchDir dir;
    const fs::path db = dir / "sessions.db";
    make_raw_db(db, "PRAGMA application_id = " + std::to_string(kApplicationId) +
                        "; CREATE TABLE future (x); INSERT INTO future VALUES (1);"
                        "PRAGMA user_version = " +
                        std::to_string(kSchemaVersion + 1) + ";");
    const std::string before = slurp(db);
    const auto mtime = fs::last_write_time(db);
    const std::string err = open_error(db);
    EXPECT_NE(err.find("newer Statescope"), std::string::npos) << err;
    EXPECT_NE(err.find("left untouched"), std::string::npos) << err;
    EXPECT_EQ(slurp(db), before);
    EXPECT_EQ(fs::last_write_time(db), mtime);
    // Nothing was created next to it either (no -wal, -shm, -lock, blob folder).
    EXPECT_EQ(entries_starting_with(dir.path(), "sessions.db"), std::vector<fs::path>{db});
}

TEST(store_open_faults, NewerSchemaInWalModeIsRefusedUntouched) {
    // The newer version is only in the WAL (not yet checkpointed), so the header looks current:
    // the refusal must come from SQLite's view, and closing must not checkpoint into the file.
    ScratchDir dir;
    const fs::path db = dir / "sessions.db";
    make_raw_db(
        db, "PRAGMA journal_mode = WAL; PRAGMA application_id = " + std::to_string(kApplicationId) +
                "; CREATE TABLE future (x); PRAGMA user_version = " +
                std::to_string(kSchemaVersion) + ";");
    make_raw_db(db, "PRAGMA user_version = 99; INSERT INTO future VALUES (1);", true);
    const std::string before = slurp(db);
    const std::string wal_before = slurp(db.string() + "-wal");
    ASSERT_FALSE(wal_before.empty());
    EXPECT_NE(open_error(db).find("schema v99"), std::string::npos);
    EXPECT_EQ(slurp(db), before);
    EXPECT_EQ(slurp(db.string() + "-wal"), wal_before);
}

TEST(store_open_faults, ForeignSqliteDatabaseIsRefusedUntouched) {
    ScratchDir dir;
    const fs::path db = dir / "other.db";
    make_raw_db(db, "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('Ada');");
    const std::string before = slurp(db);
    const std::string err = open_error(db);
    EXPECT_NE(err.find("another application"), std::string::npos) << err;
    EXPECT_EQ(slurp(db), before);

    const fs::path tagged = dir / "tagged.db";
    make_raw_db(tagged, "PRAGMA application_id = 42; PRAGMA user_version = 1; CREATE TABLE t (x);");
    EXPECT_NE(open_error(tagged).find("application_id 0x0000002a"), std::string::npos);
}

TEST(store_open_faults, EmptyFileBecomesADatabase) {
    ScratchDir dir;
    const fs::path db = dir / "sessions.db";
    write_file(db, "");
    SessionStore store(db);
    EXPECT_EQ(store.reader().connection().query_int("PRAGMA user_version"), kSchemaVersion);
}

TEST(store_open_faults, CreatesMissingFolders) {
    ScratchDir dir;
    const fs::path db = dir / "a" / "b" / "sessions.db";
    SessionStore store(db);
    EXPECT_TRUE(fs::exists(db));
    auto r = store.reader();
    EXPECT_EQ(r.connection().query_text("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(r.connection().query_int("PRAGMA application_id"), kApplicationId);
}

}  // namespace
}  // namespace statescope
