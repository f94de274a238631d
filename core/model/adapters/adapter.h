// What every model_type adapter shares: the signature, and shape checks that name the tensor and the
// config fields it was checked against.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/model/config.h"
#include "core/model/model_spec.h"
#include "core/model/safetensors.h"

namespace statescope::adapters {

using BuildFn = ModelSpec (*)(const Config&, const WeightStore&);

// Error `cannot load model: tensor "X" has shape [a, b], expected [c, d] (why)` unless the shape matches.
void expect_shape(const WeightStore& w, const std::string& name, std::initializer_list<std::int64_t> shape,
                  const std::string& why);
// The shape of a tensor that must exist, with `rank` dimensions.
const TensorInfo& expect_rank(const WeightStore& w, const std::string& name, std::size_t rank);

// Fills the parts common to every causal LM: architecture, token ids, dtype summary, parameter count.
void fill_common(ModelSpec& spec, const Config& cfg, const WeightStore& w);
// Resolves lm_head (tied or not) per MODELS.md §1.8 and checks its shape.
void resolve_lm_head(ModelSpec& spec, const Config& cfg, const WeightStore& w, bool tie_default,
                     const std::string& lm_head_name);

ModelSpec build_mamba(const Config& cfg, const WeightStore& w);         // mamba, falcon_mamba
ModelSpec build_mamba2(const Config& cfg, const WeightStore& w);        // mamba2

}  // namespace statescope::adapters
