// tokenizer.json "decoder": turns token strings back into text (HF's Decoder::decode_chain,
// whose results are concatenated).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tokenizer/json_reader.h"

namespace statescope::tok {

class Decoder {
  public:
    virtual ~Decoder() = default;
    virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
};

// Null JSON -> nullptr (tokens are joined with spaces). Unknown types fail naming the type.
std::unique_ptr<Decoder> make_decoder(const Json& json, const std::string& path,
                                      const JsonReader& reader);

}  // namespace statescope::tok
