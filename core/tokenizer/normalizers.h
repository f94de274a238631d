// tokenizer.json "normalizer": rewrites each piece of text before pre-tokenization.
#pragma once

#include <memory>

#include "core/tokenizer/json_reader.h"
#include "core/tokenizer/normalized_string.h"

namespace statescope::tok {

class Normalizer {
  public:
    virtual ~Normalizer() = default;
    virtual void normalize(NormalizedString& text) const = 0;
};

// Null JSON -> nullptr (no normalizer). Unknown types fail naming the type.
std::unique_ptr<Normalizer> make_normalizer(const Json& json, const std::string& path,
                                            const JsonReader& reader);

}  // namespace statescope::tok
