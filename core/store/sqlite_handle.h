// Thin RAII over the sqlite3 C API: a connection, a prepared statement, a transaction guard. Every
// failure becomes statescope::Error naming the database file and the statement, so a user reading
// the message knows which file is at fault and why.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace statescope {

class Statement;

class Connection {
  public:
    // flags: SQLITE_OPEN_* (READWRITE, CREATE, ...). Throws Error naming the path when it cannot
    // open.
    Connection(const std::filesystem::path& path, int flags);
    ~Connection();
    Connection(Connection&& other) noexcept;
    Connection& operator=(Connection&& other) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Runs one or more statements without results.
    void exec(std::string_view sql);
    Statement prepare(std::string_view sql);
    // Value of the first column of the first row (PRAGMA user_version, count(*)...).
    std::int64_t query_int(std::string_view sql);
    std::string query_text(std::string_view sql);

    std::int64_t last_insert_rowid() const;
    int changes() const;
    // Throws Error for a non-OK result code `rc`, with sqlite's message and `what` (the statement).
    void check(int rc, std::string_view what) const;
    [[noreturn]] void fail(int rc, std::string_view what) const;

    sqlite3* raw() const { return db_; }
    const std::filesystem::path& path() const { return path_; }
    void close();

  private:
    sqlite3* db_ = nullptr;
    std::filesystem::path path_;
};

class Statement {
  public:
    Statement(Connection& db, std::string_view sql);
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // Parameters are 1-based, as in sqlite3_bind_*. Each returns *this to chain.
    Statement& bind(int i, std::int64_t v);
    Statement& bind(int i, int v) { return bind(i, std::int64_t{v}); }
    Statement& bind(int i, double v);
    Statement& bind(int i, std::string_view v);
    Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
    Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
    Statement& bind_blob(int i, const void* data, std::size_t size);
    Statement& bind_null(int i);
    template <typename T>
    Statement& bind(int i, const std::optional<T>& v) {
        return v ? bind(i, *v) : bind_null(i);
    }

    // Advances; true while a row is available.
    bool step();
    // Runs a statement that returns no rows (or ignores them) and resets it for reuse.
    void run();
    void reset();

    bool is_null(int col) const;
    std::int64_t int64(int col) const;
    double real(int col) const;
    std::string text(int col) const;
    std::vector<std::uint8_t> blob(int col) const;
    std::optional<std::int64_t> opt_int64(int col) const;
    std::optional<double> opt_real(int col) const;

  private:
    Connection* db_;
    sqlite3_stmt* stmt_ = nullptr;
    std::string sql_;
};

// BEGIN IMMEDIATE on construction (takes the write lock at once, so a busy database fails here and
// not half-way through); ROLLBACK on destruction unless commit() was called.
class Transaction {
  public:
    explicit Transaction(Connection& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

  private:
    Connection& db_;
    bool done_ = false;
};

// BEGIN (deferred) on construction: the reads until destruction see one snapshot of the database.
// Inside an open transaction it does nothing, so read functions can call each other.
class ReadTransaction {
  public:
    explicit ReadTransaction(Connection& db);
    ~ReadTransaction();
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;

  private:
    Connection& db_;
    bool owner_ = false;
};

}  // namespace statescope
