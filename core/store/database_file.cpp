#include "core/store/database_file.h"

#include <sqlite3.h>

#include <array>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <system_error>

#include "core/error.h"
#include "core/store/schema.h"

namespace statescope {
namespace fs = std::filesystem;
namespace {

constexpr char kMagic[] = "SQLite format 3";  // 16 bytes with its NUL, at offset 0

struct Probe {
    int rc = SQLITE_OK;
    std::int64_t value = 0;
    std::string text;
    std::string error;
};

// One value through the raw API, keeping the result code (Connection would throw it away).
Probe probe(sqlite3* db, const char* sql) {
    Probe p;
    sqlite3_stmt* st = nullptr;
    p.rc = sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
    if (p.rc == SQLITE_OK) {
        p.rc = sqlite3_step(st);
        if (p.rc == SQLITE_ROW) {
            p.value = sqlite3_column_int64(st, 0);
            const auto* t = sqlite3_column_text(st, 0);
            p.text = t ? reinterpret_cast<const char*>(t) : "";
            p.rc = SQLITE_OK;
        } else if (p.rc == SQLITE_DONE) {
            p.rc = SQLITE_OK;
        }
    }
    if (p.rc != SQLITE_OK) p.error = sqlite3_errmsg(db);
    sqlite3_finalize(st);
    return p;
}

bool is_damage(int rc) {
    const int primary = rc & 0xff;
    return primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT;
}

std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           std::uint32_t(p[3]);
}

std::string utc_stamp() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

// `salvageable`: a SQLite file with damage (sqlite3 .recover may get most of it back), as opposed
// to something that never was a database.
[[noreturn]] void moved_aside(const fs::path& path, std::string what, bool salvageable) {
    for (auto& c : what) {
        if (c == '\n') c = ' ';  // quick_check reports over several lines; errors are one line
    }
    const fs::path aside = set_aside(path);
    throw Error("session database " + path.string() + " " + what + ". It was moved to " +
                aside.string() + " (nothing was deleted" +
                (salvageable ? "; `sqlite3 " + aside.string() + " .recover` may salvage it" : "") +
                ") and a new, empty database will be created at " + path.string() +
                " on the next start");
}

[[noreturn]] void newer(const fs::path& path, std::int64_t version) {
    throw Error("session database " + path.string() + " has schema v" + std::to_string(version) +
                ", written by a newer Statescope (this build knows up to v" +
                std::to_string(kSchemaVersion) +
                "); it was left untouched: open it with the newer version, or choose another "
                "database file");
}

// What the first 100 bytes (the SQLite header) say, before SQLite touches the file at all.
void check_header(const fs::path& path, std::uintmax_t size) {
    std::array<unsigned char, 100> header{};
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read session database " + path.string());
    in.read(reinterpret_cast<char*>(header.data()), header.size());
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got < header.size() || std::memcmp(header.data(), kMagic, sizeof kMagic) != 0) {
        moved_aside(path,
                    "is not a SQLite database (" + std::to_string(size) +
                        " bytes without the SQLite header)",
                    false);
    }
    // user_version lives at offset 60. The WAL may hold a newer header, so this only short-cuts
    // the refusal; the version is read again through SQLite below.
    const std::uint32_t version = be32(header.data() + 60);
    if (version > kSchemaVersion && version < 0x10000) newer(path, version);
}

void refuse_foreign(const fs::path& path, std::int64_t app_id, const std::string& why) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08llx", static_cast<unsigned long long>(app_id));
    throw Error("session database " + path.string() +
                " is a SQLite database of another application (" + why + ", application_id " + hex +
                "); it was left untouched: choose another database file");
}

}  // namespace

fs::path set_aside(const fs::path& path) {
    const std::string base = path.string() + ".corrupt-" + utc_stamp();
    fs::path aside = base;
    for (int n = 2; fs::exists(aside) || fs::exists(aside.string() + "-wal"); ++n) {
        aside = base + "-" + std::to_string(n);
    }
    std::error_code ec;
    fs::rename(path, aside, ec);
    if (ec) {
        throw Error("session database " + path.string() +
                    " is unusable and could not be moved to " + aside.string() + ": " +
                    ec.message() + "; move it away by hand");
    }
    // A stale -wal left next to a new database would be replayed into it, so it moves too.
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
        const fs::path side = path.string() + suffix;
        if (fs::exists(side)) fs::rename(side, aside.string() + suffix, ec);
    }
    return aside;
}

Connection open_writer_connection(const fs::path& path, const OpenOptions& options) {
    std::error_code ec;
    if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
    if (ec) {
        throw Error("cannot create the folder of session database " + path.string() + ": " +
                    ec.message());
    }
    if (fs::exists(path, ec) && !fs::is_regular_file(path, ec)) {
        throw Error("session database " + path.string() + " is not a regular file");
    }
    const auto size = fs::exists(path, ec) ? fs::file_size(path, ec) : 0;
    const bool existed = !ec && size > 0;
    if (existed) check_header(path, size);

    Connection db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    // Until the file is known to be ours and current, closing must not checkpoint into it.
    sqlite3_db_config(db.raw(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    sqlite3_busy_timeout(db.raw(), static_cast<int>(options.busy_timeout.count()));

    const Probe objects = probe(db.raw(), "SELECT count(*) FROM sqlite_schema");
    const Probe version = probe(db.raw(), "PRAGMA user_version");
    const Probe app_id = probe(db.raw(), "PRAGMA application_id");
    for (const Probe* p : {&objects, &version, &app_id}) {
        if (is_damage(p->rc)) {
            db.close();
            moved_aside(path, "is damaged (" + p->error + ")", true);
        }
        if (p->rc != SQLITE_OK) {
            throw Error("cannot read session database " + path.string() + ": " + p->error);
        }
    }
    if (version.value > kSchemaVersion) {
        db.close();
        newer(path, version.value);
    }
    if (app_id.value != 0 && app_id.value != kApplicationId) {
        db.close();
        refuse_foreign(path, app_id.value, std::to_string(objects.value) + " schema objects");
    }
    if (version.value == 0 && objects.value > 0) {
        db.close();
        refuse_foreign(path, app_id.value,
                       std::to_string(objects.value) + " schema objects and no schema version");
    }
    if (existed && options.check_integrity) {
        const Probe check = probe(db.raw(), "PRAGMA quick_check(1)");
        if (is_damage(check.rc) || (check.rc == SQLITE_OK && check.text != "ok")) {
            db.close();
            moved_aside(
                path,
                "is damaged (quick_check: " + (check.text.empty() ? check.error : check.text) + ")",
                true);
        }
        if (check.rc != SQLITE_OK) {
            throw Error("cannot check session database " + path.string() + ": " + check.error);
        }
    }

    // WAL: readers never block the writer and a crash never leaves a half-applied transaction.
    // synchronous=FULL: a commit is on disk (fsync of the WAL) when it returns, so "saved" means
    // saved even on power loss; batching keeps the fsyncs few. secure_delete: deleted text is
    // zeroed, not left in free pages (the complaint in APPS-AND-STYLE.md §1.2).
    if (db.query_text("PRAGMA journal_mode = WAL") != "wal") {
        throw Error("session database " + path.string() +
                    ": cannot switch to WAL mode (is the folder on a network file system?)");
    }
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA foreign_keys = ON");
    db.exec("PRAGMA secure_delete = ON");
    // A big import or delete can grow the WAL; past a checkpoint it shrinks back to this.
    db.exec("PRAGMA journal_size_limit = 67108864");
    migrate(db);
    sqlite3_db_config(db.raw(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, nullptr);
    return db;
}

Connection open_reader_connection(const fs::path& path, std::chrono::milliseconds busy_timeout) {
    if (!fs::exists(path)) {
        throw Error("session database " + path.string() + " does not exist (open the store first)");
    }
    Connection db(path, SQLITE_OPEN_READWRITE);
    sqlite3_busy_timeout(db.raw(), static_cast<int>(busy_timeout.count()));
    db.exec("PRAGMA query_only = ON");
    const auto version = db.query_int("PRAGMA user_version");
    if (version != kSchemaVersion) {
        throw Error("session database " + path.string() + " is at schema v" +
                    std::to_string(version) + ", not v" + std::to_string(kSchemaVersion) +
                    " (open it with the store first, which upgrades it)");
    }
    return db;
}

}  // namespace statescope
