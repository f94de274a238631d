// A mixer is the part of a block between its pre-norm and the residual add: a Mamba-1 or Mamba-2
// SSM today, attention / MLP / MoE in the hybrids. Each kind is one class in its own file.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/model/model_spec.h"
#include "core/model/safetensors.h"
#include "core/runtime/observer.h"
#include "core/runtime/workspace.h"
#include "kernels/backend.h"

namespace statescope {

// The state of one mixer of one sequence, in backend memory, fp32: fixed-size buffers (conv and SSM
// state) and, for attention, a KV cache that grows with the sequence: keys and values of every
// position so far, [kv_capacity, kv_width] each (row t = position t).
struct LayerState {
    std::vector<std::unique_ptr<kernels::Buffer>> buffers;
    std::unique_ptr<kernels::Buffer> keys, values;
    std::int64_t kv_width = 0;     // floats per token per cache (n_kv_heads * head_dim)
    std::int64_t kv_capacity = 0;  // tokens the buffers hold
};

// Grows keys/values to hold at least `tokens` positions, keeping the first `keep` rows.
void reserve_kv(LayerState& state, std::int64_t tokens, std::int64_t keep,
                kernels::Backend& backend);

// One call of a mixer on T rows. `states` and `positions` say whose rows they are:
// - one of each: the T rows are consecutive tokens of one sequence (Model::forward), continuing
//   states[0] from position positions[0];
// - T of each: the batched decode step (Model::forward_batch), where row r is the next token of its
//   own sequence: states[r] at position positions[r] (> 0). Row-wise work (projections, norms, MLP,
//   MoE) runs on all T rows at once either way; only the stateful steps go row by row (the *_rows
//   backend ops, attention over each row's own cache).
struct MixerCall {
    const float* u = nullptr;  // [T, d_model] normed block input
    std::int64_t T = 0;
    // True when every row is a single token continuing its sequence (position > 0): HF's decode
    // path, where Mamba-2's time_step_limit clamp is not applied (MODELS.md §1.5).
    bool decode_step = false;
    float* out = nullptr;               // [T, d_model] mixer output, before the residual add
    const float* embeddings = nullptr;  // [T, d_model] the embedding output h0 (zamba2's hybrid
                                        // layers)
    std::span<LayerState* const> states;
    std::span<const std::int64_t> positions;
    // The step that may be recorded (Model's decode step, one sequence, T = 1): a mixer then issues
    // only ops a recording can hold: nothing reads a position or a routing decision on the host
    // (the *_at ops and moe_experts read them on the device), nothing allocates, nothing waits.
    bool capture_safe = false;
    // With capture_safe, `positions` again in backend memory (Backend::step_scalars) when the
    // model has a mixer that reads them (attention); else null.
    const std::int64_t* step_positions = nullptr;

    // Rows of different sequences (the batched step with more than one sequence).
    bool batched() const { return states.size() > 1; }
    // The one sequence's state and position (not batched()).
    LayerState& state() const { return *states[0]; }
    std::int64_t position() const { return positions[0]; }
    // Buffer `i` of every row's state: the host pointer array the *_rows backend ops take.
    std::vector<float*> row_buffers(std::size_t i) const;
};

class Mixer {
  public:
    virtual ~Mixer() = default;
    // Sizes in floats of the state buffers a sequence keeps for this layer (conv state, SSM
    // state...).
    virtual std::vector<std::size_t> state_sizes() const = 0;
    // Floats per token of the growing KV cache (attention), 0 for none.
    virtual std::int64_t kv_width() const { return 0; }
    // Whether forward() with MixerCall::step_positions set keeps to what a recording can hold.
    // A mixer that cannot says false here and the model runs its decode step op by op.
    virtual bool capture_safe() const { return false; }
    virtual void forward(const MixerCall& call, Workspace& ws, const CaptureSink& sink) = 0;
};

// Binds a mixer's weights from the store to the backend.
std::unique_ptr<Mixer> make_mamba1_mixer(const Mamba1Spec& spec, std::int64_t d_model,
                                         const WeightStore& w, kernels::Backend& backend);
std::unique_ptr<Mixer> make_mamba2_mixer(const Mamba2Spec& spec, std::int64_t d_model,
                                         const WeightStore& w, kernels::Backend& backend);

std::unique_ptr<Mixer> make_attention_mixer(const AttentionSpec& spec, std::int64_t d_model,
                                            const WeightStore& w, kernels::Backend& backend);
std::unique_ptr<Mixer> make_mlp_mixer(const MlpSpec& spec, std::int64_t d_model,
                                      const WeightStore& w, kernels::Backend& backend);
std::unique_ptr<Mixer> make_zamba2_hybrid_mixer(const Zamba2HybridSpec& spec, std::int64_t d_model,
                                                const WeightStore& w, kernels::Backend& backend);
std::unique_ptr<Mixer> make_moe_mixer(const MoeSpec& spec, std::int64_t d_model,
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
// Rows [first, first + n) of a bound matrix, as a matrix of `cols` columns (an expert of a stacked
// [E, rows, cols] tensor bound as one [E * rows, cols] matrix).
kernels::Weight weight_rows(const kernels::Weight& w, std::int64_t first, std::int64_t n,
                            std::int64_t cols);
// A whole tensor bound as a matrix of `cols` columns ([E, R, C] -> [E * R, C]).
BoundWeight bind_matrix_cols(const WeightStore& store, const std::string& name, std::int64_t cols,
                             kernels::Backend& backend);
// A tensor widened to fp32 in backend memory (small vectors: norms, A, D, biases, conv weights).
std::unique_ptr<kernels::Buffer> bind_f32(const WeightStore& store, const std::string& name,
                                          kernels::Backend& backend);

}  // namespace statescope
