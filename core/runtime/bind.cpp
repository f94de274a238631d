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
    kernels::Weight host;
    host.data = t.data;
    host.dtype = t.weight_dtype();
    host.rows = t.shape[0];
    host.cols = t.shape[0] == 0 ? 0 : t.numel() / t.shape[0];
    BoundWeight out;
    if (reinterpret_cast<std::uintptr_t>(t.data) % kernels::dtype_size(host.dtype) != 0) {
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
