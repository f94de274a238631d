// The batched decode step's recurrent ops (backend.h, *_rows): one token for each of `rows`
// sequences, row r continuing its own state. Each row is the single-sequence op at T = 1 on that
// row's slices, so the batched step computes exactly what `rows` separate decode steps would; the
// ops thread over channels / heads inside each row as they do for one sequence.
#include "kernels/cpu/ops.h"

namespace statescope::kernels::cpu {

// Per row r: causal_conv1d(x + r*x_stride, x_stride, 1, C, K, w, bias, silu, conv_states[r],
// y + r*C).  x: [rows, C] (row stride x_stride); y: [rows, C]; conv_states[r]: [K-1, C].
void causal_conv1d_rows(const float* x, std::int64_t x_stride, std::int64_t rows, std::int64_t C,
                        std::int64_t K, const float* w, const float* bias, bool silu,
                        float* const* conv_states, float* y) {
    for (std::int64_t r = 0; r < rows; ++r)
        causal_conv1d(x + r * x_stride, x_stride, 1, C, K, w, bias, silu, conv_states[r],
                      y + r * C);
}

// Per row r: S = exp(delta[r,i] * A[i,n]) * S + delta[r,i] * B[r,n] * x[r,i]   (S = states[r][i,
// n])
//            y[r,i] = (sum_n S * C[r,n] + D[i] * x[r,i]) * silu(z[r,i])
// x, delta, y: [rows, I]; B, C: [rows, N] (row stride bc_stride); z: [rows, I] (row stride
// z_stride) or null; states[r]: [I, N].
void selective_scan_rows(const float* x, const float* delta, const float* A, const float* B,
                         const float* C, std::int64_t bc_stride, const float* D, const float* z,
                         std::int64_t z_stride, std::int64_t rows, std::int64_t I, std::int64_t N,
                         float* const* states, float* y) {
    for (std::int64_t r = 0; r < rows; ++r)
        selective_scan(x + r * I, delta + r * I, A, B + r * bc_stride, C + r * bc_stride, bc_stride,
                       D, z != nullptr ? z + r * z_stride : nullptr, z_stride, 1, I, N, states[r],
                       y + r * I);
}

// Per row r: S[h,p,n] = exp(delta[r,h] * A[h]) * S[h,p,n] + delta[r,h] * x[r,h,p] * B[r,g,n]
//            y[r,h,p] = sum_n S[h,p,n] * C[r,g,n] + D[h] * x[r,h,p]        (S = states[r])
// x: [rows, H*P] (row stride x_stride); delta: [rows, H]; B, C: [rows, G*N] (row stride
// bc_stride); y: [rows, H*P]; states[r]: [H, P, N].
void ssd_scan_rows(const float* x, std::int64_t x_stride, const float* delta, const float* A,
                   const float* B, const float* C, std::int64_t bc_stride, const float* D,
                   std::int64_t rows, std::int64_t H, std::int64_t P, std::int64_t G,
                   std::int64_t N, float* const* states, float* y) {
    for (std::int64_t r = 0; r < rows; ++r)
        ssd_scan(x + r * x_stride, x_stride, delta + r * H, A, B + r * bc_stride, C + r * bc_stride,
                 bc_stride, D, 1, H, P, G, N, states[r], y + r * H * P);
}

}  // namespace statescope::kernels::cpu
