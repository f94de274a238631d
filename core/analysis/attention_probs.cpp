#include "core/analysis/attention_probs.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/runtime/sequence.h"

namespace statescope {

namespace {

const AttentionSpec* attention_part(const BlockSpec& b) {
    for (const PartSpec& p : b.parts)
        if (p.kind == MixerKind::Attention) return &std::get<AttentionSpec>(p.mixer);
    return nullptr;
}

// "layer.12.attn.q" -> 12; -1 when not a layer point.
std::int64_t layer_of(std::string_view point) {
    if (!point.starts_with("layer.")) return -1;
    std::int64_t v = 0;
    std::size_t i = 6;
    if (i >= point.size() || point[i] < '0' || point[i] > '9') return -1;
    for (; i < point.size() && point[i] >= '0' && point[i] <= '9'; ++i)
        v = v * 10 + (point[i] - '0');
    return v;
}

}  // namespace

std::vector<std::int64_t> attention_layers(const ModelSpec& spec) {
    std::vector<std::int64_t> out;
    for (std::int64_t i = 0; i < spec.n_layers(); ++i)
        if (attention_part(spec.blocks[std::size_t(i)])) out.push_back(i);
    return out;
}

AttentionProbsCollector::AttentionProbsCollector(const Model& model, AttentionProbsOptions options)
    : options_(std::move(options)) {
    const ModelSpec& spec = model.spec();
    std::sort(options_.queries.begin(), options_.queries.end());
    options_.queries.erase(std::unique(options_.queries.begin(), options_.queries.end()),
                           options_.queries.end());
    if (options_.queries.empty()) throw Error("attention probabilities: no query positions");
    if (options_.queries.front() < 0)
        throw Error("attention probabilities: negative query position");
    last_query_ = options_.queries.back();
    const std::int64_t key_to = options_.key_to < 0 ? last_query_ + 1 : options_.key_to;
    if (options_.key_from < 0 || key_to <= options_.key_from)
        throw Error("attention probabilities: the key window [" +
                    std::to_string(options_.key_from) + ", " + std::to_string(key_to) +
                    ") is empty");
    const auto layers = options_.layers.empty() ? attention_layers(spec) : options_.layers;
    slot_.assign(std::size_t(spec.n_layers()), -1);
    for (std::int64_t i : layers) {
        if (i < 0 || i >= spec.n_layers())
            throw Error("layer " + std::to_string(i) + " does not exist (the model has " +
                        std::to_string(spec.n_layers()) + " layers)");
        const AttentionSpec* a = attention_part(spec.blocks[std::size_t(i)]);
        if (!a)
            throw Error("layer " + std::to_string(i) + " is a " +
                        spec.blocks[std::size_t(i)].main().kind_name() +
                        " layer; attention probabilities need an attention layer");
        if (slot_[std::size_t(i)] >= 0) continue;
        AttentionProbsLayer l;
        l.index = i;
        l.n_heads = a->n_heads;
        l.n_kv_heads = a->n_kv_heads;
        l.head_dim = a->head_dim;
        l.window = a->window;
        l.scale = a->scale;
        l.key_from = options_.key_from;
        l.keys = key_to - options_.key_from;
        slot_[std::size_t(i)] = static_cast<int>(layers_.size());
        layers_.push_back(std::move(l));
        keys_.emplace_back();
        pending_q_.emplace_back();
        pending_pos_.push_back(-1);
    }
}

bool AttentionProbsCollector::wants(std::string_view point) const {
    const std::int64_t layer = layer_of(point);
    if (layer < 0 || layer >= static_cast<std::int64_t>(slot_.size()) ||
        slot_[std::size_t(layer)] < 0)
        return false;
    return point.ends_with(".attn.q") || point.ends_with(".attn.k");
}

void AttentionProbsCollector::on_capture(const Capture& c, kernels::Backend& backend) {
    const int slot = slot_[std::size_t(c.layer)];
    AttentionProbsLayer& l = layers_[std::size_t(slot)];
    const std::int64_t T = c.shape[0], W = c.shape[1];
    if (c.position > last_query_) return;  // nothing asked for past the last query
    scratch_.resize(std::size_t((T - 1) * c.stride + W));
    backend.copy_to_host(c.data, scratch_.data(), scratch_.size() * sizeof(float));
    auto& keys = keys_[std::size_t(slot)];
    auto& pending = pending_q_[std::size_t(slot)];
    const std::int64_t kvw = l.n_kv_heads * l.head_dim;
    if (c.point.ends_with(".attn.k")) {
        // Keep only rows up to the last query; the call's queries (captured before its keys) wait
        // in `pending` until the keys they may see are here.
        const std::int64_t rows = std::min(T, last_query_ + 1 - c.position);
        for (std::int64_t t = 0; t < rows; ++t)
            keys.insert(keys.end(), scratch_.begin() + t * c.stride,
                        scratch_.begin() + t * c.stride + W);
        if (!pending.empty() && pending_pos_[std::size_t(slot)] == c.position) {
            finish_rows(l, slot, pending.data(), c.position, T);
            pending.clear();
        }
        return;
    }
    // q rows [T, H * P], made contiguous
    std::vector<float> q(std::size_t(T * W));
    for (std::int64_t t = 0; t < T; ++t)
        std::copy_n(scratch_.begin() + t * c.stride, W, q.begin() + t * W);
    if (static_cast<std::int64_t>(keys.size()) >= std::min(c.position + T, last_query_ + 1) * kvw) {
        finish_rows(l, slot, q.data(), c.position, T);
    } else {
        pending = std::move(q);
        pending_pos_[std::size_t(slot)] = c.position;
    }
}

void AttentionProbsCollector::finish_rows(AttentionProbsLayer& l, std::int64_t slot, const float* q,
                                          std::int64_t pos, std::int64_t T) {
    const std::int64_t H = l.n_heads, KV = l.n_kv_heads, P = l.head_dim, kvw = KV * P;
    const auto& keys = keys_[std::size_t(slot)];
    const std::int64_t q_stride = H * P;
    std::vector<double> s;
    for (std::int64_t qpos : options_.queries) {
        if (qpos < pos || qpos >= pos + T) continue;
        if (static_cast<std::int64_t>(keys.size()) < (qpos + 1) * kvw)
            throw Error("attention probabilities: keys of layer " + std::to_string(l.index) +
                        " arrived after its queries");
        l.queries.push_back(qpos);
        const std::size_t base = l.probs.size();
        l.probs.resize(base + std::size_t(H * l.keys), 0.0f);
        const float* qrow = q + (qpos - pos) * q_stride;
        // visible keys: j <= q, and q - j < window with a sliding window
        const std::int64_t j0 = l.window > 0 ? std::max<std::int64_t>(0, qpos - l.window + 1) : 0;
        s.assign(std::size_t(qpos + 1 - j0), 0.0);
        for (std::int64_t h = 0; h < H; ++h) {
            const std::int64_t g = h / (H / KV);
            const float* qh = qrow + h * P;
            double mx = -std::numeric_limits<double>::infinity();
            for (std::int64_t j = j0; j <= qpos; ++j) {
                const float* kj = keys.data() + j * kvw + g * P;
                double d = 0;
                for (std::int64_t p = 0; p < P; ++p) d += double(qh[p]) * kj[p];
                s[std::size_t(j - j0)] = l.scale * d;
                mx = std::max(mx, s[std::size_t(j - j0)]);
            }
            double z = 0;
            for (auto& v : s) z += (v = std::exp(v - mx));
            float* out = l.probs.data() + base + std::size_t(h * l.keys);
            for (std::int64_t j = std::max(j0, l.key_from); j <= qpos && j < l.key_from + l.keys;
                 ++j)
                out[j - l.key_from] = static_cast<float>(s[std::size_t(j - j0)] / z);
        }
    }
}

std::vector<AttentionProbsLayer> capture_attention_probs(Model& model,
                                                         std::span<const std::int32_t> ids,
                                                         const AttentionProbsOptions& options,
                                                         const ProgressFn& progress) {
    if (ids.empty()) throw Error("no tokens to analyze");
    AttentionProbsCollector collector(model, options);
    const auto T = static_cast<std::int64_t>(ids.size());
    for (std::int64_t q : options.queries)
        if (q >= T)
            throw Error("attention probabilities: query position " + std::to_string(q) +
                        " is past the prompt (" + std::to_string(T) + " tokens)");
    Sequence seq(model);
    model.add_observer(&collector);
    try {
        model.prefill(seq, ids, 512, progress, nullptr);
    } catch (...) {
        model.remove_observer(&collector);
        throw;
    }
    model.remove_observer(&collector);
    return std::move(collector.layers());
}

}  // namespace statescope
