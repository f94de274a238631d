// Rotary position embedding (NeoX rotate_half layout), in place.
#include <cmath>
#include <vector>

#include "kernels/cpu/ops.h"

namespace statescope::kernels::cpu {

// d = rotary_dim, j < d/2, p = pos0 + t:
//   angle = float(p) * inv_freq[j]   (fp32 product, as transformers computes freqs)
//   x'[j] = x[j] cos - x[j + d/2] sin ;  x'[j + d/2] = x[j + d/2] cos + x[j] sin
// x: [T, n_heads * head_dim] (row stride x_stride); dims >= rotary_dim of each head pass through.
// cos/sin are evaluated in double from the fp32 angle and rounded once.
void rope(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
          std::int64_t head_dim, std::int64_t rotary_dim, std::int64_t pos0,
          const float* inv_freq) {
    const std::int64_t half = rotary_dim / 2;
    std::vector<float> cos_t(static_cast<std::size_t>(half)), sin_t(static_cast<std::size_t>(half));
    for (std::int64_t t = 0; t < T; ++t) {
        const float p = static_cast<float>(pos0 + t);
        for (std::int64_t j = 0; j < half; ++j) {
            const float angle = p * inv_freq[j];
            cos_t[j] = static_cast<float>(std::cos(double(angle)));
            sin_t[j] = static_cast<float>(std::sin(double(angle)));
        }
        float* row = x + t * x_stride;
        for (std::int64_t h = 0; h < n_heads; ++h) {
            float* v = row + h * head_dim;
            for (std::int64_t j = 0; j < half; ++j) {
                const float a = v[j], b = v[j + half];
                v[j] = a * cos_t[j] - b * sin_t[j];
                v[j + half] = b * cos_t[j] + a * sin_t[j];
            }
        }
    }
}

}  // namespace statescope::kernels::cpu
