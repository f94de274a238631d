// tokenizer.json "pre_tokenizer": cuts normalized text into the words the model encodes one by one.
#pragma once

#include <memory>

#include "core/tokenizer/json_reader.h"
#include "core/tokenizer/normalized_string.h"

namespace statescope::tok {

class PreTokenizer {
  public:
    virtual ~PreTokenizer() = default;
    virtual void pre_tokenize(Pieces& pieces) const = 0;
};

// Null JSON -> nullptr (the whole piece is one word). Unknown types fail naming the type.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& json, const std::string& path,
                                                 const JsonReader& reader);

// The GPT-2 byte-to-character table ByteLevel pre-tokenizer and decoder share: printable bytes map
// to themselves, the other 68 to U+0100.. in byte order (space -> "Ġ", newline -> "Ċ").
const std::string& byte_level_char(unsigned char byte);
// Inverse of byte_level_char; -1 for characters outside the table.
int byte_level_byte(char32_t c);

SplitBehavior parse_split_behavior(const Json& json, const std::string& path,
                                   const JsonReader& reader);

}  // namespace statescope::tok
