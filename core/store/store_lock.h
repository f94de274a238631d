// Who else has this database open for writing. Every SessionStore holds a shared flock on
// "<db>-lock" for its lifetime; only one that can take it exclusively (no other store alive, in
// any process) may mark 'generating' messages as interrupted, because then nobody is generating.
// The kernel drops the lock when a process dies, SIGKILL included.
#pragma once

#include <filesystem>

namespace statescope {

class StoreLock {
  public:
    explicit StoreLock(const std::filesystem::path& db_path);
    ~StoreLock();
    StoreLock(const StoreLock&) = delete;
    StoreLock& operator=(const StoreLock&) = delete;

    // True when this was the only store on the database: the lock is then exclusive until share(),
    // so the recovery runs before any other store can start generating.
    bool was_alone() const { return was_alone_; }
    void share();

  private:
    int fd_ = -1;
    bool was_alone_ = false;
};

}  // namespace statescope
