// One conversation's state (docs/DESIGN.md §3): conv + SSM state per layer and the position.
// Snapshots are host copies; the SSM state is O(1) in length, so branches and regenerate restore
// instead of re-reading the prompt.
#pragma once

#include <cstdint>
#include <vector>

#include "core/runtime/mixer.h"

namespace statescope {

class Model;

struct SequenceSnapshot {
    std::int64_t position = 0;
    std::vector<std::vector<float>> buffers;  // layer by layer, buffer by buffer
    std::size_t bytes() const;
};

class Sequence {
  public:
    explicit Sequence(const Model& model);

    std::int64_t position() const { return position_; }
    // The model whose layout this sequence holds.
    const Model& model() const { return *model_; }
    void reset();  // zero state, position 0
    SequenceSnapshot snapshot() const;
    // Error when the snapshot does not come from a sequence of the same model layout.
    void restore(const SequenceSnapshot& snap);
    std::size_t state_bytes() const;

    LayerState& layer(std::size_t i) { return layers_[i]; }
    void advance(std::int64_t n) { position_ += n; }
    // Undoes advance() for ops that were recorded rather than run (Model's decode recording).
    void rewind(std::int64_t n) { position_ -= n; }

  private:
    const Model* model_;
    std::vector<LayerState> layers_;
    std::int64_t position_ = 0;
};

}  // namespace statescope
