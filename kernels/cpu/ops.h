// The CPU implementations of the Backend ops (kernels/backend.h states the math and shapes of each;
// each .cpp repeats them above its function). CpuBackend forwards to these; the tests call them
// through the Backend interface.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/backend.h"

namespace statescope::kernels::cpu {

// elementwise.cpp
void embedding(const Weight& table, const std::int32_t* ids, std::int64_t T, float* out);
void add(float* y, const float* x, std::int64_t n);
void softplus(const float* dt, std::int64_t dt_stride, std::int64_t T, std::int64_t C,
              const float* bias, float lo, float hi, float* delta);

// matmul.cpp
void matmul(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
            const float* bias, float* y, std::int64_t y_stride);

// norm.cpp
void rmsnorm(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t D,
             const float* weight, float eps, float* y, std::int64_t y_stride);
void gated_rmsnorm(const float* y, const float* z, std::int64_t z_stride, std::int64_t T,
                   std::int64_t I, std::int64_t group_size, const float* weight, float eps,
                   bool norm_before_gate, float* out);

// conv1d.cpp
void causal_conv1d(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t C,
                   std::int64_t K, const float* w, const float* bias, bool silu, float* conv_state,
                   float* y);

// scan.cpp
void selective_scan(const float* x, const float* delta, const float* A, const float* B,
                    const float* C, std::int64_t bc_stride, const float* D, const float* z,
                    std::int64_t z_stride, std::int64_t T, std::int64_t I, std::int64_t N,
                    float* state, float* y);
void ssd_scan(const float* x, std::int64_t x_stride, const float* delta, const float* A,
              const float* B, const float* C, std::int64_t bc_stride, const float* D,
              std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t G, std::int64_t N,
              float* state, float* y);

// step_rows.cpp: the batched decode step (backend.h, *_rows); conv_states / states are arrays of
// `rows` pointers, one state per row.
void causal_conv1d_rows(const float* x, std::int64_t x_stride, std::int64_t rows, std::int64_t C,
                        std::int64_t K, const float* w, const float* bias, bool silu,
                        float* const* conv_states, float* y);
void selective_scan_rows(const float* x, const float* delta, const float* A, const float* B,
                         const float* C, std::int64_t bc_stride, const float* D, const float* z,
                         std::int64_t z_stride, std::int64_t rows, std::int64_t I, std::int64_t N,
                         float* const* states, float* y);
void ssd_scan_rows(const float* x, std::int64_t x_stride, const float* delta, const float* A,
                   const float* B, const float* C, std::int64_t bc_stride, const float* D,
                   std::int64_t rows, std::int64_t H, std::int64_t P, std::int64_t G,
                   std::int64_t N, float* const* states, float* y);

// activation.cpp
void scale(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n, float s);
void add_scaled(float* y, const float* x, float s, std::int64_t n);
void glu(const float* gate, std::int64_t gate_stride, const float* up, std::int64_t up_stride,
         std::int64_t T, std::int64_t F, Activation act, float* out);

// rope.cpp
void rope(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
          std::int64_t head_dim, std::int64_t rotary_dim, std::int64_t pos0, const float* inv_freq);

// attention.cpp
void attention(const float* q, std::int64_t q_stride, const float* k, const float* v,
               std::int64_t kv_stride, std::int64_t T, std::int64_t pos0, std::int64_t n_heads,
               std::int64_t n_kv_heads, std::int64_t head_dim, float scale, std::int64_t window,
               float* out, std::int64_t out_stride);

// moe.cpp
void moe_route(const float* logits, std::int64_t T, std::int64_t E, std::int64_t k,
               RouterScoring scoring, const float* correction_bias, std::int64_t n_group,
               std::int64_t topk_group, bool normalize, float route_scale, std::int32_t* experts,
               float* weights);

// moe.cpp: the routed experts of a few rows (backend.h moe_experts); experts' pointers are host
// memory here.
void moe_experts(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t k,
                 const std::int32_t* experts, const float* weights, const ExpertFfns& ffn,
                 float* hidden, bool accumulate, float* out);

// sampling.cpp
void argmax(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
            std::int32_t* out);
// The kept tokens of one row in ranked order and the prefix sums of their weights
// (kernels/sampling.h steps 1-3; greedy: the one token with e = cum = {1}).
struct Ranked {
    std::vector<std::int32_t> ids;
    std::vector<double> e, cum;  // weights and their prefix sums (in ranked order)
};
Ranked rank_row(const float* row, std::int64_t V, const SampleParams& p,
                std::span<const std::int32_t> pen_ids, std::span<const std::int32_t> pen_counts);
std::int32_t draw(const Ranked& r, double u);  // step 4
void sample(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
            const SampleParams& p, const SamplePenalties& pen, const double* u, std::int32_t* out);

// Threading: the kernels use OpenMP; OpenBLAS is held to one thread so that the two pools never
// fight over the two cores (matmul.cpp splits sgemm across OpenMP threads itself).
void init_threads();

}  // namespace statescope::kernels::cpu
