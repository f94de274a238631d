// Mixture-of-experts routing on the GPU: one block per token. The scores are computed in double by
// the block's threads, then thread 0 selects the k experts one at a time (largest first, the lower
// index on ties, as the CPU op's partial_sort), so both backends choose the same experts and
// differ in the weights only by the rounding of exp.
#include <stdexcept>
#include <string>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 128;
constexpr std::int64_t kMaxTopK = 64;

// The index of the largest v[e] among e not yet taken (lower index on ties); marks it taken. A
// value of -inf is still chosen when nothing larger is left, as the CPU's sort would.
__device__ std::int64_t take_max(const double* v, bool* taken, std::int64_t n) {
    std::int64_t best = -1;
    for (std::int64_t e = 0; e < n; ++e) {
        if (taken[e]) continue;
        if (best < 0 || v[e] > v[best]) best = e;
    }
    taken[best] = true;
    return best;
}

// logits: [T, E]; experts, weights: [T, k]. Shared memory: score, choice [E] double, taken [E].
__global__ void moe_route_kernel(const float* __restrict__ logits, std::int64_t E, std::int64_t k,
                                 RouterScoring scoring, const float* __restrict__ correction_bias,
                                 std::int64_t n_group, std::int64_t topk_group, bool normalize,
                                 float route_scale, std::int32_t* __restrict__ experts,
                                 float* __restrict__ weights) {
    extern __shared__ double sh[];
    double* score = sh;
    double* choice = sh + E;
    bool* taken = reinterpret_cast<bool*>(sh + 2 * E);
    const std::int64_t t = blockIdx.x;
    const float* l = logits + t * E;
    for (std::int64_t e = threadIdx.x; e < E; e += blockDim.x) {
        taken[e] = false;
        if (scoring == RouterScoring::Sigmoid) {
            score[e] = 1.0 / (1.0 + exp(-double(l[e])));
            choice[e] = score[e] + (correction_bias ? double(correction_bias[e]) : 0.0);
        } else {
            score[e] = double(l[e]);
        }
    }
    __syncthreads();
    if (threadIdx.x != 0) return;
    std::int64_t chosen[kMaxTopK];
    double w[kMaxTopK];
    switch (scoring) {
        case RouterScoring::SoftmaxTopK: {
            // p = softmax(logits); top-k of p; w = p (no renormalisation)
            double mx = -INFINITY, sum = 0.0;
            for (std::int64_t e = 0; e < E; ++e) mx = fmax(mx, score[e]);
            for (std::int64_t e = 0; e < E; ++e) sum += score[e] = exp(score[e] - mx);
            for (std::int64_t e = 0; e < E; ++e) score[e] /= sum;
            for (std::int64_t j = 0; j < k; ++j) {
                chosen[j] = take_max(score, taken, E);
                w[j] = score[chosen[j]];
            }
            break;
        }
        case RouterScoring::TopKSoftmax: {
            // top-k of logits; w = softmax over the k chosen
            for (std::int64_t j = 0; j < k; ++j) chosen[j] = take_max(score, taken, E);
            const double mx = score[chosen[0]];
            double sum = 0.0;
            for (std::int64_t j = 0; j < k; ++j) sum += w[j] = exp(score[chosen[j]] - mx);
            for (std::int64_t j = 0; j < k; ++j) w[j] /= sum;
            break;
        }
        case RouterScoring::Sigmoid: {
            // groups scored by the sum of their two best choices; the topk_group best kept
            if (n_group > 1 && topk_group < n_group) {
                const std::int64_t per = E / n_group;
                double group_score[kMaxTopK];
                bool group_taken[kMaxTopK];
                for (std::int64_t g = 0; g < n_group; ++g) {
                    double b1 = -INFINITY, b2 = -INFINITY;
                    for (std::int64_t e = g * per; e < (g + 1) * per; ++e) {
                        const double c = choice[e];
                        if (c > b1) {
                            b2 = b1;
                            b1 = c;
                        } else if (c > b2) {
                            b2 = c;
                        }
                    }
                    group_score[g] = b1 + (per > 1 ? b2 : 0.0);
                    group_taken[g] = false;
                }
                for (std::int64_t j = 0; j < topk_group; ++j)
                    take_max(group_score, group_taken, n_group);
                for (std::int64_t g = 0; g < n_group; ++g) {
                    if (group_taken[g]) continue;  // kept
                    for (std::int64_t e = g * per; e < (g + 1) * per; ++e) choice[e] = -INFINITY;
                }
            }
            for (std::int64_t j = 0; j < k; ++j) {
                chosen[j] = take_max(choice, taken, E);
                w[j] = score[chosen[j]];
            }
            break;
        }
    }
    double total = 0.0;
    for (std::int64_t j = 0; j < k; ++j) total += w[j];
    for (std::int64_t j = 0; j < k; ++j) {
        const double wj = normalize ? w[j] / (total + 1e-20) : w[j];
        experts[t * k + j] = static_cast<std::int32_t>(chosen[j]);
        weights[t * k + j] = static_cast<float>(wj * route_scale);
    }
}

}  // namespace

void moe_route(const float* logits, std::int64_t T, std::int64_t E, std::int64_t k,
               RouterScoring scoring, const float* correction_bias, std::int64_t n_group,
               std::int64_t topk_group, bool normalize, float route_scale, std::int32_t* experts,
               float* weights, cudaStream_t stream) {
    if (T == 0) return;
    if (k < 1 || k > E || k > kMaxTopK || n_group > kMaxTopK)
        throw std::runtime_error("moe_route on CUDA: top_k " + std::to_string(k) + " of " +
                                 std::to_string(E) + " experts in " + std::to_string(n_group) +
                                 " groups is outside what the kernel takes (k, groups <= 64)");
    const std::size_t bytes = std::size_t(E) * (2 * sizeof(double) + sizeof(bool));
    if (bytes > (48u << 10))
        throw std::runtime_error("moe_route on CUDA: " + std::to_string(E) +
                                 " experts do not fit the kernel's shared memory");
    moe_route_kernel<<<static_cast<unsigned>(T), kThreads, bytes, stream>>>(
        logits, E, k, scoring, correction_bias, n_group, topk_group, normalize, route_scale,
        experts, weights);
    check_launch("moe_route");
}

}  // namespace statescope::kernels::cuda
