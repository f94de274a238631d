// Builds safetensors files byte by byte for tests, including broken ones.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>
#include <unistd.h>

namespace statescope::testing {

// 8-byte little-endian header length + header + data.
inline std::string st_bytes(const std::string& header, const std::string& data, std::int64_t declared_len = -1) {
    std::uint64_t len = declared_len >= 0 ? std::uint64_t(declared_len) : header.size();
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = char((len >> (8 * i)) & 0xff);
    return out + header + data;
}

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

// A unique empty folder under the system temp dir, removed when the object goes.
class TempDir {
public:
    TempDir() {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("statescope-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace statescope::testing
