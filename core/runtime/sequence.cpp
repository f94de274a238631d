#include "core/runtime/sequence.h"

#include "core/error.h"
#include "core/runtime/model.h"

namespace statescope {

std::size_t SequenceSnapshot::bytes() const {
    std::size_t n = 0;
    for (const auto& b : buffers) n += b.size() * sizeof(float);
    return n;
}

Sequence::Sequence(const Model& model) : model_(&model) {
    for (const auto& sizes : model.state_layout()) {
        LayerState layer;
        for (std::size_t n : sizes) layer.buffers.push_back(model.backend().alloc(n * sizeof(float)));
        layers_.push_back(std::move(layer));
    }
}

void Sequence::reset() {
    for (auto& layer : layers_) {
        for (auto& buf : layer.buffers) {
            std::vector<float> zeros(buf->bytes() / sizeof(float), 0.0f);
            model_->backend().copy_from_host(zeros.data(), buf->data(), buf->bytes());
        }
    }
    position_ = 0;
}

SequenceSnapshot Sequence::snapshot() const {
    SequenceSnapshot snap;
    snap.position = position_;
    for (const auto& layer : layers_) {
        for (const auto& buf : layer.buffers) {
            std::vector<float> host(buf->bytes() / sizeof(float));
            model_->backend().copy_to_host(buf->data(), host.data(), buf->bytes());
            snap.buffers.push_back(std::move(host));
        }
    }
    return snap;
}

void Sequence::restore(const SequenceSnapshot& snap) {
    std::size_t k = 0;
    for (auto& layer : layers_) {
        for (auto& buf : layer.buffers) {
            if (k >= snap.buffers.size() || snap.buffers[k].size() * sizeof(float) != buf->bytes())
                throw Error("cannot restore the sequence: the snapshot was taken from a different model");
            model_->backend().copy_from_host(snap.buffers[k].data(), buf->data(), buf->bytes());
            ++k;
        }
    }
    if (k != snap.buffers.size()) throw Error("cannot restore the sequence: the snapshot was taken from a different model");
    position_ = snap.position;
}

std::size_t Sequence::state_bytes() const {
    std::size_t n = 0;
    for (const auto& layer : layers_)
        for (const auto& buf : layer.buffers) n += buf->bytes();
    return n;
}

}  // namespace statescope
