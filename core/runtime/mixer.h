// A mixer is the part of a block between its pre-norm and the residual add: a Mamba-1 or Mamba-2
// SSM today, attention / MLP / MoE in the hybrids. Each kind is one class in its own file.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/model/model_spec.h"
#include "core/model/safetensors.h"
#include "core/runtime/observer.h"
#include "core/runtime/workspace.h"
#include "kernels/backend.h"

namespace statescope {

// The recurrent state of one layer of one sequence: buffers in backend memory, fp32.
struct LayerState {
    std::vector<std::unique_ptr<kernels::Buffer>> buffers;
};

struct MixerCall {
    const float* u = nullptr;  // [T, d_model] normed block input
    std::int64_t T = 0;
    // True for a single token continuing a sequence (position > 0): HF's decode path, where
    // Mamba-2's time_step_limit clamp is not applied (MODELS.md §1.5).
    bool decode_step = false;
    float* out = nullptr;  // [T, d_model] mixer output, before the residual add
};

class Mixer {
  public:
    virtual ~Mixer() = default;
    // Sizes in floats of the state buffers a sequence keeps for this layer (conv state, SSM
    // state...).
    virtual std::vector<std::size_t> state_sizes() const = 0;
    virtual void forward(const MixerCall& call, LayerState& state, Workspace& ws,
                         const CaptureSink& sink) = 0;
};

// Binds a mixer's weights from the store to the backend.
std::unique_ptr<Mixer> make_mamba1_mixer(const Mamba1Spec& spec, std::int64_t d_model,
                                         const WeightStore& w, kernels::Backend& backend);
std::unique_ptr<Mixer> make_mamba2_mixer(const Mamba2Spec& spec, std::int64_t d_model,
                                         const WeightStore& w, kernels::Backend& backend);

// A weight bound to a backend: the view and, for a device backend, the uploaded copy.
struct BoundWeight {
    kernels::Weight w;
    std::unique_ptr<kernels::Buffer> keep;  // a device backend's copy
    std::vector<std::uint32_t>
        host_copy;  // an aligned copy of a tensor stored unaligned in its file
};
BoundWeight bind_matrix(const WeightStore& store, const std::string& name,
                        kernels::Backend& backend);
// A tensor widened to fp32 in backend memory (small vectors: norms, A, D, biases, conv weights).
std::unique_ptr<kernels::Buffer> bind_f32(const WeightStore& store, const std::string& name,
                                          kernels::Backend& backend);

}  // namespace statescope
