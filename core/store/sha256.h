// SHA-256 (FIPS 180-4): names blob files by their content and fingerprints model folders. Written
// here rather than pulling in OpenSSL for one hash; tests check it against the NIST vectors.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace statescope {

class Sha256 {
  public:
    Sha256();
    void update(const void* data, std::size_t size);
    void update(std::string_view s) { update(s.data(), s.size()); }
    std::array<std::uint8_t, 32> digest();
    // Lowercase hex of digest(); the object cannot be updated afterwards.
    std::string hex_digest();

  private:
    void block(const std::uint8_t* p);
    std::array<std::uint32_t, 8> h_;
    std::array<std::uint8_t, 64> buf_{};
    std::size_t buf_len_ = 0;
    std::uint64_t total_ = 0;
};

std::string sha256_hex(const void* data, std::size_t size);
inline std::string sha256_hex(std::string_view s) {
    return sha256_hex(s.data(), s.size());
}

// True for 64 lowercase hex digits: the only names the blob folder accepts.
bool is_sha256_hex(std::string_view s);

}  // namespace statescope
