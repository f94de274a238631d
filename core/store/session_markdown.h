// A session as Markdown for people to read: the branch on screen (root to head), each turn under
// its role, assistant turns followed by how they were generated (model, sampler, speed).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/store/records.h"

namespace statescope {

// `models`: the ModelInfo of every model id the session refers to (missing ones are left out).
std::string to_markdown(const Session& session, const std::map<std::int64_t, ModelInfo>& models);

}  // namespace statescope
