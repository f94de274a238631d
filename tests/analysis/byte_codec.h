// A TextCodec of one token per byte (id = the byte), so a probe length in tokens is a length in
// bytes: the tiny golden models have no tokenizer, and their 512-entry vocabularies hold every
// byte.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/analysis/probes/text_codec.h"

namespace statescope::testing_ref {

inline TextCodec byte_codec() {
    TextCodec c;
    c.encode = [](std::string_view s) {
        std::vector<std::int32_t> ids;
        for (unsigned char ch : s) ids.push_back(ch);
        return ids;
    };
    c.decode = [](std::span<const std::int32_t> ids) {
        std::string s;
        for (auto id : ids) s += id < 256 ? char(id) : '?';
        return s;
    };
    return c;
}

}  // namespace statescope::testing_ref
