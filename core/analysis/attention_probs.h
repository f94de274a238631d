// Attention probabilities of a hybrid's attention layers (docs/DESIGN.md §3 `layer.{i}.attn.probs`,
// ANALYSES.md §3.2: the real attention beside a Mamba head's implicit attention). The observer
// reads the runtime's own post-RoPE queries and keys (layer.{i}.attn.q / attn.k) and recomputes
//   p[q, h, j] = softmax_j( scale * q[q, h, :] . k[j, g(h), :] + mask[q, j] )     g(h) = h / (H /
//   KV) mask = 0 for j <= q (and q - j < window when the layer has a sliding window), -inf
//   otherwise
// in fp64 on the host for chosen query positions only, so memory stays bounded on long prompts:
// the keys up to the last chosen query ([T_q, KV * head_dim] per layer, what the KV cache holds
// anyway) and [Q, H, K] probabilities for the kept key window.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/runtime/model.h"
#include "core/runtime/observer.h"

namespace statescope {

struct AttentionProbsOptions {
    std::vector<std::int64_t> layers;   // empty: every attention layer
    std::vector<std::int64_t> queries;  // query positions (sorted on use)
    // Keys kept per row: [key_from, key_to) (key_to < 0: up to the query). The softmax is over all
    // keys 0..q either way; the kept ones are what the view draws.
    std::int64_t key_from = 0, key_to = -1;
};

struct AttentionProbsLayer {
    std::int64_t index = 0;
    std::int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0, window = 0;
    double scale = 0;
    std::vector<std::int64_t> queries;    // [Q]
    std::int64_t key_from = 0, keys = 0;  // K kept keys: key_from .. key_from + K - 1
    std::vector<float> probs;             // [Q, H, K]; 0 for keys the query cannot see
    float at(std::int64_t qi, std::int64_t h, std::int64_t j) const {
        return probs[std::size_t((qi * n_heads + h) * keys + (j - key_from))];
    }
};

class AttentionProbsCollector : public Observer {
  public:
    AttentionProbsCollector(const Model& model, AttentionProbsOptions options);
    bool wants(std::string_view point) const override;
    void on_capture(const Capture& capture, kernels::Backend& backend) override;
    std::vector<AttentionProbsLayer>& layers() { return layers_; }

  private:
    void finish_rows(AttentionProbsLayer& l, std::int64_t slot, const float* q, std::int64_t pos,
                     std::int64_t T);
    AttentionProbsOptions options_;
    std::vector<AttentionProbsLayer> layers_;
    std::vector<std::vector<float>> keys_;       // per slot: [tokens so far, KV * head_dim]
    std::vector<int> slot_;                      // model layer -> slot, -1 when not watched
    std::vector<std::vector<float>> pending_q_;  // per slot: queries of the call in flight
    std::vector<std::int64_t> pending_pos_;
    std::int64_t last_query_ = -1;
    std::vector<float> scratch_;
};

// The attention layers of the model (blocks whose main mixer is attention).
std::vector<std::int64_t> attention_layers(const ModelSpec& spec);

// One prefill of ids on a fresh sequence with the collector registered.
std::vector<AttentionProbsLayer> capture_attention_probs(Model& model,
                                                         std::span<const std::int32_t> ids,
                                                         const AttentionProbsOptions& options,
                                                         const ProgressFn& progress = {});

}  // namespace statescope
