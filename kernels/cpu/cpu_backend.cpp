#include "kernels/cpu/cpu_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "kernels/cpu/ops.h"

namespace statescope::kernels {

std::unique_ptr<Backend> make_cpu_backend() {
    return std::make_unique<cpu::CpuBackend>();
}

namespace cpu {

namespace {
constexpr std::size_t kAlignment = 64;
}

CpuBuffer::CpuBuffer(std::size_t bytes) : bytes_(bytes) {
    // aligned_alloc wants a multiple of the alignment; round up (the tail is never handed out).
    const std::size_t padded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    data_ = std::aligned_alloc(kAlignment, padded == 0 ? kAlignment : padded);
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(data_, 0, padded == 0 ? kAlignment : padded);
}

CpuBuffer::~CpuBuffer() {
    std::free(data_);
}

CpuBackend::CpuBackend() {
    init_threads();
}

std::unique_ptr<Buffer> CpuBackend::alloc(std::size_t bytes) {
    return std::make_unique<CpuBuffer>(bytes);
}

// Host and backend memory are the same; memmove tolerates the overlapping copies memcpy forbids.
void CpuBackend::copy_to_host(const void* src, void* host_dst, std::size_t bytes) {
    if (bytes != 0) std::memmove(host_dst, src, bytes);
}
void CpuBackend::copy_from_host(const void* host_src, void* dst, std::size_t bytes) {
    if (bytes != 0) std::memmove(dst, host_src, bytes);
}
void CpuBackend::copy(const void* src, void* dst, std::size_t bytes) {
    if (bytes != 0) std::memmove(dst, src, bytes);
}

// The file's mmap stays the storage: nothing to upload or keep.
Weight CpuBackend::upload(const Weight& host, std::unique_ptr<Buffer>* keep) {
    if (keep != nullptr) keep->reset();
    return host;
}

void CpuBackend::embedding(const Weight& table, const std::int32_t* ids, std::int64_t T,
                           float* out) {
    cpu::embedding(table, ids, T, out);
}
void CpuBackend::matmul(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
                        const float* bias, float* y, std::int64_t y_stride) {
    cpu::matmul(x, x_stride, T, W, bias, y, y_stride);
}
void CpuBackend::rmsnorm(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t D,
                         const float* weight, float eps, float* y, std::int64_t y_stride) {
    cpu::rmsnorm(x, x_stride, T, D, weight, eps, y, y_stride);
}
void CpuBackend::add(float* y, const float* x, std::int64_t n) {
    cpu::add(y, x, n);
}
void CpuBackend::causal_conv1d(const float* x, std::int64_t x_stride, std::int64_t T,
                               std::int64_t C, std::int64_t K, const float* w, const float* bias,
                               bool silu, float* conv_state, float* y) {
    cpu::causal_conv1d(x, x_stride, T, C, K, w, bias, silu, conv_state, y);
}
void CpuBackend::softplus(const float* dt, std::int64_t dt_stride, std::int64_t T, std::int64_t C,
                          const float* bias, float lo, float hi, float* delta) {
    cpu::softplus(dt, dt_stride, T, C, bias, lo, hi, delta);
}
void CpuBackend::selective_scan(const float* x, const float* delta, const float* A, const float* B,
                                const float* C, std::int64_t bc_stride, const float* D,
                                const float* z, std::int64_t z_stride, std::int64_t T,
                                std::int64_t I, std::int64_t N, float* state, float* y) {
    cpu::selective_scan(x, delta, A, B, C, bc_stride, D, z, z_stride, T, I, N, state, y);
}
void CpuBackend::ssd_scan(const float* x, std::int64_t x_stride, const float* delta, const float* A,
                          const float* B, const float* C, std::int64_t bc_stride, const float* D,
                          std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t G,
                          std::int64_t N, float* state, float* y) {
    cpu::ssd_scan(x, x_stride, delta, A, B, C, bc_stride, D, T, H, P, G, N, state, y);
}
void CpuBackend::causal_conv1d_rows(const float* x, std::int64_t x_stride, std::int64_t rows,
                                    std::int64_t C, std::int64_t K, const float* w,
                                    const float* bias, bool silu, float* const* conv_states,
                                    float* y) {
    cpu::causal_conv1d_rows(x, x_stride, rows, C, K, w, bias, silu, conv_states, y);
}
void CpuBackend::selective_scan_rows(const float* x, const float* delta, const float* A,
                                     const float* B, const float* C, std::int64_t bc_stride,
                                     const float* D, const float* z, std::int64_t z_stride,
                                     std::int64_t rows, std::int64_t I, std::int64_t N,
                                     float* const* states, float* y) {
    cpu::selective_scan_rows(x, delta, A, B, C, bc_stride, D, z, z_stride, rows, I, N, states, y);
}
void CpuBackend::ssd_scan_rows(const float* x, std::int64_t x_stride, const float* delta,
                               const float* A, const float* B, const float* C,
                               std::int64_t bc_stride, const float* D, std::int64_t rows,
                               std::int64_t H, std::int64_t P, std::int64_t G, std::int64_t N,
                               float* const* states, float* y) {
    cpu::ssd_scan_rows(x, x_stride, delta, A, B, C, bc_stride, D, rows, H, P, G, N, states, y);
}
void CpuBackend::gated_rmsnorm(const float* y, const float* z, std::int64_t z_stride,
                               std::int64_t T, std::int64_t I, std::int64_t group_size,
                               const float* weight, float eps, bool norm_before_gate, float* out) {
    cpu::gated_rmsnorm(y, z, z_stride, T, I, group_size, weight, eps, norm_before_gate, out);
}

void CpuBackend::scale(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n, float s) {
    cpu::scale(x, x_stride, T, n, s);
}
void CpuBackend::add_scaled(float* y, const float* x, float s, std::int64_t n) {
    cpu::add_scaled(y, x, s, n);
}
void CpuBackend::glu(const float* gate, std::int64_t gate_stride, const float* up,
                     std::int64_t up_stride, std::int64_t T, std::int64_t F, Activation act,
                     float* out) {
    cpu::glu(gate, gate_stride, up, up_stride, T, F, act, out);
}
void CpuBackend::rope(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
                      std::int64_t head_dim, std::int64_t rotary_dim, std::int64_t pos0,
                      const float* inv_freq) {
    cpu::rope(x, x_stride, T, n_heads, head_dim, rotary_dim, pos0, inv_freq);
}
void CpuBackend::attention(const float* q, std::int64_t q_stride, const float* k, const float* v,
                           std::int64_t kv_stride, std::int64_t T, std::int64_t pos0,
                           std::int64_t n_heads, std::int64_t n_kv_heads, std::int64_t head_dim,
                           float scale, std::int64_t window, float* out, std::int64_t out_stride) {
    cpu::attention(q, q_stride, k, v, kv_stride, T, pos0, n_heads, n_kv_heads, head_dim, scale,
                   window, out, out_stride);
}
void CpuBackend::moe_route(const float* logits, std::int64_t T, std::int64_t E, std::int64_t k,
                           RouterScoring scoring, const float* correction_bias,
                           std::int64_t n_group, std::int64_t topk_group, bool normalize,
                           float route_scale, std::int32_t* experts, float* weights) {
    cpu::moe_route(logits, T, E, k, scoring, correction_bias, n_group, topk_group, normalize,
                   route_scale, experts, weights);
}

void CpuBackend::argmax(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
                        std::int32_t* out) {
    cpu::argmax(x, x_stride, T, V, out);
}
void CpuBackend::sample(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
                        const SampleParams& p, const SamplePenalties& pen, const double* u,
                        std::int32_t* out) {
    cpu::sample(x, x_stride, T, V, p, pen, u, out);
}

const std::int64_t* CpuBackend::step_scalars(const std::int64_t* host, std::int64_t n) {
    if (n < 0 || n > kMaxStepScalars)
        throw std::runtime_error("step_scalars: " + std::to_string(n) + " values, at most " +
                                 std::to_string(kMaxStepScalars));
    std::copy(host, host + n, step_scalars_);
    return step_scalars_;
}
void CpuBackend::rope_at(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
                         std::int64_t head_dim, std::int64_t rotary_dim, const std::int64_t* pos0,
                         const float* inv_freq) {
    cpu::rope(x, x_stride, T, n_heads, head_dim, rotary_dim, *pos0, inv_freq);
}
void CpuBackend::write_rows_at(const float* src, std::int64_t src_stride, std::int64_t T,
                               std::int64_t width, float* dst, std::int64_t dst_stride,
                               const std::int64_t* pos0) {
    for (std::int64_t t = 0; t < T; ++t)
        std::memcpy(dst + (*pos0 + t) * dst_stride, src + t * src_stride,
                    std::size_t(width) * sizeof(float));
}
void CpuBackend::attention_at(const float* q, std::int64_t q_stride, const float* k, const float* v,
                              std::int64_t kv_stride, std::int64_t T, const std::int64_t* pos0,
                              std::int64_t max_keys, std::int64_t n_heads, std::int64_t n_kv_heads,
                              std::int64_t head_dim, float scale, std::int64_t window, float* out,
                              std::int64_t out_stride) {
    if (*pos0 + T > max_keys)
        throw std::runtime_error("attention_at: position " + std::to_string(*pos0) + " + " +
                                 std::to_string(T) + " rows exceeds max_keys " +
                                 std::to_string(max_keys));
    cpu::attention(q, q_stride, k, v, kv_stride, T, *pos0, n_heads, n_kv_heads, head_dim, scale,
                   window, out, out_stride);
}
void CpuBackend::moe_experts(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t k,
                             const std::int32_t* experts, const float* weights,
                             const ExpertFfns& ffn, float* hidden, bool accumulate, float* out) {
    cpu::moe_experts(x, x_stride, T, k, experts, weights, ffn, hidden, accumulate, out);
}

}  // namespace cpu
}  // namespace statescope::kernels
