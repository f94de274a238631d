// A feed-forward network bound to a backend, shared by the MLP mixer, MoE experts and shared
// experts:
//   y = down(act(gate(x) * gate_multiplier) * up(x)) * down_multiplier      (gated)
//   y = down(act(up(x))) * down_multiplier                                  (not gated, relu2)
#pragma once

#include <cstdint>
#include <string>

#include "core/runtime/workspace.h"
#include "kernels/backend.h"

namespace statescope {

struct FfnWeights {
    kernels::Weight gate, up, down;  // gate.data null: not gated
    kernels::Weight gate_up;         // fused [gate | up] ([2F, d_in]) when data is set
    kernels::Weight lora_a, lora_b;  // zamba2: gate_up += lora_b (lora_a x) when lora_a.data is set
    const float* gate_bias = nullptr;
    const float* up_bias = nullptr;
    const float* down_bias = nullptr;
    std::int64_t d_ff = 0;
    kernels::Activation act = kernels::Activation::Silu;
    float gate_multiplier = 1.0f;
    float down_multiplier = 1.0f;
};

// x: [T, d_in] (row stride x_stride); y: [T, down.rows] contiguous. Scratch slots start with
// `slot`.
void run_ffn(kernels::Backend& be, Workspace& ws, const std::string& slot, const FfnWeights& f,
             const float* x, std::int64_t x_stride, std::int64_t T, float* y);

}  // namespace statescope
