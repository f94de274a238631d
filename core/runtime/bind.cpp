#include <cmath>
#include <cstring>
#include <exception>

#include "core/error.h"
#include "core/runtime/mixer.h"

namespace statescope {

BoundWeight bind_matrix(const WeightStore& store, const std::string& name,
                        kernels::Backend& backend) {
    const TensorInfo& t = store.get(name);
    if (t.shape.empty())
        throw Error("cannot load model: tensor \"" + name + "\" is a scalar, expected a matrix");
    return bind_matrix_cols(store, name, t.shape[0] == 0 ? 0 : t.numel() / t.shape[0], backend);
}

kernels::Weight weight_rows(const kernels::Weight& w, std::int64_t first, std::int64_t n,
                            std::int64_t cols) {
    kernels::Weight out = w;
    out.data =
        static_cast<const char*>(w.data) + std::size_t(first * cols) * kernels::dtype_size(w.dtype);
    out.rows = n;
    out.cols = cols;
    return out;
}

BoundWeight bind_matrix_cols(const WeightStore& store, const std::string& name, std::int64_t cols,
                             kernels::Backend& backend) {
    const TensorInfo& t = store.get(name);
    kernels::Weight host;
    host.data = t.data;
    host.dtype = t.weight_dtype();
    host.cols = cols;
    host.rows = cols == 0 ? 0 : t.numel() / cols;
    BoundWeight out;
    if (const auto to = store.matrix_dtype(); to && *to != host.dtype) {
        // --dtype: widen, then round to nearest even (as torch's .to()) into an owned host copy.
        // fp16 holds magnitudes up to 65504 only: a weight past that is an error, not an inf.
        const auto n = std::size_t(t.numel());
        std::vector<float> wide(n);
        kernels::widen_to_f32(t.data, host.dtype, n, wide.data());
        out.host_copy.assign((n * kernels::dtype_size(*to) + 3) / 4, 0u);
        if (*to == kernels::DType::F32) {
            std::memcpy(out.host_copy.data(), wide.data(), n * sizeof(float));
        } else {
            auto* dst = reinterpret_cast<std::uint16_t*>(out.host_copy.data());
            for (std::size_t i = 0; i < n; ++i) {
                if (*to == kernels::DType::BF16) {
                    dst[i] = kernels::f32_to_bf16(wide[i]);
                } else {
                    dst[i] = kernels::f32_to_f16(wide[i]);
                    if (std::isfinite(wide[i]) && std::fabs(wide[i]) > 65504.0f)
                        throw Error("cannot load model with --dtype fp16: tensor \"" + name +
                                    "\" has a value of " + std::to_string(wide[i]) +
                                    ", past fp16's largest (65504); use --dtype bf16 or fp32");
                }
            }
        }
        host.data = out.host_copy.data();
        host.dtype = *to;
    } else if (reinterpret_cast<std::uintptr_t>(t.data) % kernels::dtype_size(host.dtype) != 0) {
        // Kernels read elements in place; a tensor at an unaligned file offset gets an aligned host
        // copy (the format does not promise alignment, though writers align in practice).
        out.host_copy.resize((t.bytes + 3) / 4);
        std::memcpy(out.host_copy.data(), t.data, t.bytes);
        host.data = out.host_copy.data();
    }
    try {
        out.w = backend.upload(host, &out.keep);
    } catch (const std::exception& e) {
        throw Error("cannot load model: tensor \"" + name + "\" (" + std::to_string(t.bytes >> 20) +
                    " MiB) could not be placed on backend " + backend.name() + ": " + e.what());
    }
    return out;
}

std::unique_ptr<kernels::Buffer> bind_f32(const WeightStore& store, const std::string& name,
                                          kernels::Backend& backend) {
    try {
        return upload_f32(backend, store.get(name).to_f32());
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error("cannot load model: tensor \"" + name + "\" could not be placed on backend " +
                    backend.name() + ": " + e.what());
    }
}

}  // namespace statescope
