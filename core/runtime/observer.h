// Observer hook points (docs/DESIGN.md §3). The runtime offers named captures while it computes;
// nothing is copied unless an observer asked for that name. Captures point into backend memory and
// may be changed in place (interventions such as LongMamba filtering or state patching).
//
// Capture points, per layer i (shapes for a call of T tokens starting at absolute position
// `position`):
//   layer.{i}.resid_pre      [T, d_model]          residual stream entering the block
//   layer.{i}.mixer_in       [T, d_model]          after the block's RMSNorm
//   layer.{i}.ssm.delta      [T, d_inner] (Mamba-1) or [T, n_heads] (Mamba-2): delta after softplus
//   (and clamp) layer.{i}.ssm.B          [T, d_state] (Mamba-1) or [T, n_groups * d_state]
//   (Mamba-2), row stride in `stride` layer.{i}.ssm.C          same as ssm.B layer.{i}.ssm.x [T,
//   d_inner]          scan input after conv + SiLU (row stride in `stride`) layer.{i}.ssm.y [T,
//   d_inner]          scan output (before gating / gated norm for Mamba-2) layer.{i}.ssm.state
//   [d_inner, d_state] or [n_heads, head_dim, d_state]: state after the call layer.{i}.resid_post
//   [T, d_model]          residual stream leaving the block final_norm               [T, d_model]
//   after the final norm (rows that get logits)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/backend.h"

namespace statescope {

struct Capture {
    std::string_view point;     // e.g. "layer.3.ssm.delta"
    std::int64_t layer = -1;    // -1 for model-level points
    std::int64_t position = 0;  // absolute position of row 0
    float* data = nullptr;      // backend memory
    std::vector<std::int64_t> shape;
    std::int64_t stride = 0;  // elements between rows (== shape.back() when contiguous)
};

class Observer {
  public:
    virtual ~Observer() = default;
    // Asked before each capture is built; return true only for the points you read.
    virtual bool wants(std::string_view point) const = 0;
    // Read with backend.copy_to_host; write through data to intervene.
    virtual void on_capture(const Capture& capture, kernels::Backend& backend) = 0;
};

// Handed to each layer: turns a layer-local name ("ssm.delta") into a capture for every observer
// that wants it. Costs one empty-vector check when no observer is registered.
class CaptureSink {
  public:
    CaptureSink(const std::vector<Observer*>* observers, kernels::Backend* backend,
                std::int64_t layer, std::int64_t position)
        : observers_(observers), backend_(backend), layer_(layer), position_(position) {}

    bool active() const { return observers_ != nullptr && !observers_->empty(); }
    void capture(std::string_view name, float* data, std::vector<std::int64_t> shape,
                 std::int64_t stride = 0) const;

  private:
    const std::vector<Observer*>* observers_;
    kernels::Backend* backend_;
    std::int64_t layer_;
    std::int64_t position_;
};

}  // namespace statescope
