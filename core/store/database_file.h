// Opening the session database file safely: whatever is at the path is either a Statescope database
// we can use, or it is left alone (newer version, another application's file) or moved aside
// (damaged, not SQLite) — never overwritten and never deleted.
#pragma once

#include <chrono>
#include <filesystem>

#include "core/store/sqlite_handle.h"

namespace statescope {

struct OpenOptions {
    std::chrono::milliseconds busy_timeout{5000};
    // PRAGMA quick_check when an existing file is opened for writing: damage is found at open (and
    // the file set aside) instead of half-way through a conversation.
    bool check_integrity = true;
};

// The writer's connection: creates the file (and its folder) when absent, checks what is there,
// sets WAL, synchronous=FULL, foreign_keys, secure_delete and the busy timeout, then migrates to
// kSchemaVersion. Throws Error with a message saying what was found and what was done about it.
Connection open_writer_connection(const std::filesystem::path& path, const OpenOptions& options);

// A connection for reading on another thread (PRAGMA query_only); the database must already be at
// kSchemaVersion (open_writer_connection got it there).
Connection open_reader_connection(const std::filesystem::path& path,
                                  std::chrono::milliseconds busy_timeout);

// Renames `path` to "<path>.corrupt-<UTC time>" (and its -wal/-shm alongside, so the moved file
// still opens with everything it had); returns the new path.
std::filesystem::path set_aside(const std::filesystem::path& path);

}  // namespace statescope
