#include "core/store/store_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace statescope {

StoreLock::StoreLock(const std::filesystem::path& db_path) {
    const std::string lock_path = db_path.string() + "-lock";
    fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw Error("cannot open " + lock_path + ": " + std::strerror(errno));
    was_alone_ = ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
    if (!was_alone_) {
        // Waits only while another store holds it exclusively, i.e. during its recovery.
        try {
            share();
        } catch (...) {
            ::close(fd_);
            throw;
        }
    }
}

void StoreLock::share() {
    // Exclusive -> shared is not atomic in flock; in the gap another opener may take it
    // exclusively and recover too, which is harmless: nobody has started generating yet.
    int rc;
    while ((rc = ::flock(fd_, LOCK_SH)) != 0 && errno == EINTR) {
    }
    if (rc != 0)
        throw Error(std::string("cannot lock the session database: ") + std::strerror(errno));
}

StoreLock::~StoreLock() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace statescope
