#include "core/runtime/sequence.h"

#include <algorithm>

#include "core/error.h"
#include "core/runtime/model.h"

namespace statescope {

std::size_t SequenceSnapshot::bytes() const {
    std::size_t n = 0;
    for (const auto& b : buffers) n += b.size() * sizeof(float);
    return n;
}

void reserve_kv(LayerState& state, std::int64_t tokens, std::int64_t keep,
                kernels::Backend& backend) {
    if (tokens <= state.kv_capacity) return;
    // Doubling up to 4096 tokens, then 4096 more at a time: a long context never holds twice its
    // cache (the copy per 4096 tokens costs well under a decode step per token).
    const std::int64_t grown =
        state.kv_capacity < 4096 ? 2 * state.kv_capacity : state.kv_capacity + 4096;
    const std::int64_t cap = std::max<std::int64_t>({tokens, grown, 64});
    const std::size_t row = std::size_t(state.kv_width) * sizeof(float);
    auto grow = [&](std::unique_ptr<kernels::Buffer>& buf) {
        auto bigger = backend.alloc(std::size_t(cap) * row);
        if (buf && keep > 0) backend.copy(buf->data(), bigger->data(), std::size_t(keep) * row);
        buf = std::move(bigger);
    };
    grow(state.keys);
    grow(state.values);
    state.kv_capacity = cap;
}

std::vector<float*> MixerCall::row_buffers(std::size_t i) const {
    std::vector<float*> out;
    out.reserve(states.size());
    for (LayerState* s : states) out.push_back(s->buffers[i]->f32());
    return out;
}

Sequence::Sequence(const Model& model) : model_(&model) {
    const auto kv = model.kv_layout();
    std::size_t i = 0;
    for (const auto& sizes : model.state_layout()) {
        LayerState layer;
        for (std::size_t n : sizes)
            layer.buffers.push_back(model.backend().alloc(n * sizeof(float)));
        layer.kv_width = kv[i++];
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
        // KV cache: the rows of the positions so far, keys then values
        if (layer.kv_width > 0) {
            const std::size_t n = std::size_t(position_ * layer.kv_width);
            for (kernels::Buffer* buf : {layer.keys.get(), layer.values.get()}) {
                std::vector<float> host(n);
                if (n > 0)
                    model_->backend().copy_to_host(buf->data(), host.data(), n * sizeof(float));
                snap.buffers.push_back(std::move(host));
            }
        }
    }
    return snap;
}

void Sequence::restore(const SequenceSnapshot& snap) {
    std::size_t k = 0;
    for (auto& layer : layers_) {
        for (auto& buf : layer.buffers) {
            if (k >= snap.buffers.size() || snap.buffers[k].size() * sizeof(float) != buf->bytes())
                throw Error(
                    "cannot restore the sequence: the snapshot was taken from a different model");
            model_->backend().copy_from_host(snap.buffers[k].data(), buf->data(), buf->bytes());
            ++k;
        }
        if (layer.kv_width > 0) {
            const std::size_t n = std::size_t(snap.position * layer.kv_width);
            if (k + 2 > snap.buffers.size() || snap.buffers[k].size() != n ||
                snap.buffers[k + 1].size() != n)
                throw Error(
                    "cannot restore the sequence: the snapshot was taken from a different model");
            reserve_kv(layer, snap.position, 0, model_->backend());
            if (n > 0) {
                model_->backend().copy_from_host(snap.buffers[k].data(), layer.keys->data(),
                                                 n * sizeof(float));
                model_->backend().copy_from_host(snap.buffers[k + 1].data(), layer.values->data(),
                                                 n * sizeof(float));
            }
            k += 2;
        }
    }
    if (k != snap.buffers.size())
        throw Error("cannot restore the sequence: the snapshot was taken from a different model");
    position_ = snap.position;
}

std::size_t Sequence::state_bytes() const {
    std::size_t n = 0;
    for (const auto& layer : layers_) {
        for (const auto& buf : layer.buffers) n += buf->bytes();
        if (layer.keys) n += layer.keys->bytes() + layer.values->bytes();
    }
    return n;
}

}  // namespace statescope
