// Causal (optionally sliding-window) GQA attention over a KV cache. Threads split the query heads.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/ops.h"
#include "kernels/cpu/threading.h"

namespace statescope::kernels::cpu {

namespace {

// sum_d a[d] b[d] in 16 independent lanes (the compiler keeps them in one vector register), then
// the lanes and the tail.
inline float dot(const float* a, const float* b, std::int64_t n) {
    float lanes[16] = {};
    std::int64_t d = 0;
    for (; d + 16 <= n; d += 16)
        for (int j = 0; j < 16; ++j) lanes[j] += a[d + j] * b[d + j];
    float s = 0.0f;
    for (; d < n; ++d) s += a[d] * b[d];
    for (float l : lanes) s += l;
    return s;
}

}  // namespace

// Query t (position pos0 + t), head h, kv head g = h / (n_heads / n_kv_heads):
//   s[j] = scale * <q[t, h, :], k[j, g, :]>   for visible j: j <= pos0 + t and, when window > 0,
//                                             pos0 + t - j < window
//   out[t, h, :] = sum_j softmax(s)[j] v[j, g, :]   (softmax with the max subtracted; dot products
//                                                   and the weighted sum accumulate in fp32)
// q: [T, n_heads*head_dim] (q_stride); k, v: [pos0+T, n_kv_heads*head_dim] (kv_stride); out:
// out_stride.
void attention(const float* q, std::int64_t q_stride, const float* k, const float* v,
               std::int64_t kv_stride, std::int64_t T, std::int64_t pos0, std::int64_t n_heads,
               std::int64_t n_kv_heads, std::int64_t head_dim, float scale, std::int64_t window,
               float* out, std::int64_t out_stride) {
    const std::int64_t rep = n_heads / n_kv_heads;
    const std::int64_t work = T * n_heads;
    const bool parallel = work * (pos0 + T) * head_dim > (1 << 15);
#pragma omp parallel if (parallel)
    {
        std::vector<float> s(static_cast<std::size_t>(pos0 + T));
        std::vector<float> acc(static_cast<std::size_t>(head_dim));
        std::int64_t begin = 0, end = 0;
        thread_share(work, 1, &begin, &end);
        for (std::int64_t item = begin; item < end; ++item) {
            const std::int64_t t = item / n_heads, h = item % n_heads, g = h / rep;
            const std::int64_t p = pos0 + t;
            const std::int64_t first = window > 0 ? std::max<std::int64_t>(0, p - window + 1) : 0;
            const float* qh = q + t * q_stride + h * head_dim;
            float mx = -INFINITY;
            for (std::int64_t j = first; j <= p; ++j) {
                const float* kj = k + j * kv_stride + g * head_dim;
                s[j] = dot(qh, kj, head_dim) * scale;
                mx = std::max(mx, s[j]);
            }
            float sum = 0.0f;
            for (std::int64_t j = first; j <= p; ++j) {
                s[j] = std::exp(s[j] - mx);
                sum += s[j];
            }
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (std::int64_t j = first; j <= p; ++j) {
                const float* vj = v + j * kv_stride + g * head_dim;
                const float w = s[j];
                for (std::int64_t d = 0; d < head_dim; ++d) acc[d] += w * vj[d];
            }
            float* o = out + t * out_stride + h * head_dim;
            const float inv = 1.0f / sum;
            for (std::int64_t d = 0; d < head_dim; ++d) o[d] = acc[d] * inv;
        }
    }
}

}  // namespace statescope::kernels::cpu
