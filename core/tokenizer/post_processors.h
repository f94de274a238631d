// tokenizer.json "post_processor": adds the special tokens a model expects around a sequence
// (only when encode() is asked to add special tokens).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/tokenizer/json_reader.h"

namespace statescope::tok {

class PostProcessor {
  public:
    virtual ~PostProcessor() = default;
    // Rewrites the ids of a single sequence.
    virtual std::vector<std::int32_t> process(std::vector<std::int32_t> ids) const = 0;
};

// Null JSON -> nullptr. Unknown types fail naming the type.
std::unique_ptr<PostProcessor> make_post_processor(const Json& json, const std::string& path,
                                                   const JsonReader& reader);

}  // namespace statescope::tok
