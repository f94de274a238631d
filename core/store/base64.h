// Base64 (RFC 4648, with padding) for blob bytes inside a session's JSON export.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace statescope {

std::string base64_encode(const std::uint8_t* data, std::size_t size);
inline std::string base64_encode(const std::vector<std::uint8_t>& v) {
    return base64_encode(v.data(), v.size());
}
// nullopt for anything that is not canonical padded base64 (wrong length, bad character, bad
// padding).
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace statescope
