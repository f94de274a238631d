#include "core/store/blob_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "core/error.h"
#include "core/store/sha256.h"

namespace statescope {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kTempMarker = ".tmp-";

void fsync_path(const fs::path& p, int flags) {
    const int fd = ::open(p.c_str(), flags | O_CLOEXEC);
    if (fd < 0) throw Error("cannot open " + p.string() + ": " + std::strerror(errno));
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw Error("cannot sync " + p.string() + ": " + std::strerror(err));
}

void write_all(const fs::path& p, const std::uint8_t* data, std::size_t size) {
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw Error("cannot create blob file " + p.string() + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::write(fd, data + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            throw Error("cannot write blob file " + p.string() + ": " + std::strerror(err));
        }
        done += static_cast<std::size_t>(n);
    }
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw Error("cannot sync blob file " + p.string() + ": " + std::strerror(err));
}

}  // namespace

BlobFiles::BlobFiles(const fs::path& db_path) : folder_(db_path.string() + ".blobs") {}

fs::path BlobFiles::path_of(std::string_view hash) const {
    if (!is_sha256_hex(hash)) throw Error("not a blob hash: \"" + std::string(hash) + "\"");
    return folder_ / std::string(hash.substr(0, 2)) / std::string(hash);
}

bool BlobFiles::ensure(std::string_view hash, const std::uint8_t* data, std::size_t size) const {
    const fs::path target = path_of(hash);
    std::error_code ec;
    if (fs::is_regular_file(target, ec) && fs::file_size(target, ec) == size && !ec) return false;
    const fs::path dir = target.parent_path();
    fs::create_directories(dir, ec);
    if (ec) throw Error("cannot create blob folder " + dir.string() + ": " + ec.message());
    static std::atomic<unsigned> counter{0};
    const fs::path temp = dir / (std::string(hash) + std::string(kTempMarker) +
                                 std::to_string(::getpid()) + "-" + std::to_string(counter++));
    try {
        write_all(temp, data, size);
        fs::rename(temp, target);
    } catch (...) {
        fs::remove(temp, ec);
        throw;
    }
    // The rename is durable only once the folder entries are (the shard folder may be new too).
    fsync_path(dir, O_RDONLY | O_DIRECTORY);
    fsync_path(folder_, O_RDONLY | O_DIRECTORY);
    return true;
}

std::vector<std::uint8_t> BlobFiles::read(std::string_view hash) const {
    const fs::path p = path_of(hash);
    std::ifstream in(p, std::ios::binary);
    if (!in) throw Error("blob file " + p.string() + " is missing");
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
    if (sha256_hex(bytes.data(), bytes.size()) != hash) {
        throw Error("blob file " + p.string() + " is damaged (its bytes no longer match its name)");
    }
    return bytes;
}

void BlobFiles::remove(std::string_view hash) const {
    std::error_code ec;
    fs::remove(path_of(hash), ec);
}

std::vector<std::string> BlobFiles::list_hashes() const {
    std::vector<std::string> out;
    std::error_code ec;
    if (!fs::is_directory(folder_, ec)) return out;
    for (const auto& e : fs::recursive_directory_iterator(folder_, ec)) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file() && is_sha256_hex(name)) out.push_back(name);
    }
    return out;
}

std::vector<fs::path> BlobFiles::list_temp_files() const {
    std::vector<fs::path> out;
    std::error_code ec;
    if (!fs::is_directory(folder_, ec)) return out;
    for (const auto& e : fs::recursive_directory_iterator(folder_, ec)) {
        if (e.is_regular_file() &&
            e.path().filename().string().find(kTempMarker) != std::string::npos) {
            out.push_back(e.path());
        }
    }
    return out;
}

}  // namespace statescope
