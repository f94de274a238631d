#include "core/store/sqlite_handle.h"

#include <sqlite3.h>

#include <utility>

#include "core/error.h"

namespace statescope {

Connection::Connection(const std::filesystem::path& path, int flags) : path_(path) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw Error("cannot open session database " + path.string() + ": " + msg);
    }
    // Extended codes tell SQLITE_CORRUPT_INDEX from SQLITE_IOERR_FSYNC in messages and checks.
    sqlite3_extended_result_codes(db_, 1);
}

Connection::~Connection() {
    close();
}

Connection::Connection(Connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        close();
        db_ = std::exchange(other.db_, nullptr);
        path_ = std::move(other.path_);
    }
    return *this;
}

void Connection::close() {
    // close_v2 defers the close until the last statement is finalized instead of failing.
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
}

void Connection::fail(int rc, std::string_view what) const {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    if (msg.empty() || msg == "not an error") msg = sqlite3_errstr(rc);
    throw Error("session database " + path_.string() + ": " + msg +
                " (while running: " + std::string(what.substr(0, 120)) + ")");
}

void Connection::check(int rc, std::string_view what) const {
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) fail(rc, what);
}

void Connection::exec(std::string_view sql) {
    const std::string s(sql);
    check(sqlite3_exec(db_, s.c_str(), nullptr, nullptr, nullptr), sql);
}

Statement Connection::prepare(std::string_view sql) {
    return Statement(*this, sql);
}

std::int64_t Connection::query_int(std::string_view sql) {
    Statement st(*this, sql);
    if (!st.step()) fail(SQLITE_ERROR, sql);
    return st.int64(0);
}

std::string Connection::query_text(std::string_view sql) {
    Statement st(*this, sql);
    if (!st.step()) fail(SQLITE_ERROR, sql);
    return st.text(0);
}

std::int64_t Connection::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(db_);
}

int Connection::changes() const {
    return sqlite3_changes(db_);
}

Statement::Statement(Connection& db, std::string_view sql) : db_(&db), sql_(sql) {
    db.check(
        sqlite3_prepare_v2(db.raw(), sql_.data(), static_cast<int>(sql_.size()), &stmt_, nullptr),
        sql);
}

Statement::~Statement() {
    sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_)) {}

Statement& Statement::bind(int i, std::int64_t v) {
    db_->check(sqlite3_bind_int64(stmt_, i, v), sql_);
    return *this;
}

Statement& Statement::bind(int i, double v) {
    db_->check(sqlite3_bind_double(stmt_, i, v), sql_);
    return *this;
}

Statement& Statement::bind(int i, std::string_view v) {
    // SQLITE_TRANSIENT: sqlite copies the bytes, so callers may pass temporaries.
    db_->check(sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
               sql_);
    return *this;
}

Statement& Statement::bind_blob(int i, const void* data, std::size_t size) {
    db_->check(sqlite3_bind_blob64(stmt_, i, data, size, SQLITE_TRANSIENT), sql_);
    return *this;
}

Statement& Statement::bind_null(int i) {
    db_->check(sqlite3_bind_null(stmt_, i), sql_);
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    // Reset so the statement can be reused after the caller handles the error.
    sqlite3_reset(stmt_);
    db_->fail(rc, sql_);
}

void Statement::run() {
    while (step()) {
    }
    reset();
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

std::int64_t Statement::int64(int col) const {
    return sqlite3_column_int64(stmt_, col);
}

double Statement::real(int col) const {
    return sqlite3_column_double(stmt_, col);
}

std::string Statement::text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
             : std::string();
}

std::vector<std::uint8_t> Statement::blob(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
    const int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::vector<std::uint8_t>(p, p + n) : std::vector<std::uint8_t>();
}

std::optional<std::int64_t> Statement::opt_int64(int col) const {
    if (is_null(col)) return std::nullopt;
    return int64(col);
}

std::optional<double> Statement::opt_real(int col) const {
    if (is_null(col)) return std::nullopt;
    return real(col);
}

Transaction::Transaction(Connection& db) : db_(db) {
    db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
    if (!done_ && sqlite3_get_autocommit(db_.raw()) == 0) {
        sqlite3_exec(db_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

void Transaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
}

ReadTransaction::ReadTransaction(Connection& db) : db_(db) {
    owner_ = sqlite3_get_autocommit(db_.raw()) != 0;
    if (owner_) db_.exec("BEGIN");
}

ReadTransaction::~ReadTransaction() {
    if (owner_ && sqlite3_get_autocommit(db_.raw()) == 0) {
        sqlite3_exec(db_.raw(), "COMMIT", nullptr, nullptr, nullptr);
    }
}

}  // namespace statescope
