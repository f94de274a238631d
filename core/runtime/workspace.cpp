#include "core/runtime/workspace.h"

#include <vector>

namespace statescope {

float* Workspace::get(const std::string& slot, std::size_t n) {
    auto& buf = buffers_[slot];
    const std::size_t bytes = n * sizeof(float);
    if (!buf || buf->bytes() < bytes)
        buf = backend_.alloc(bytes + bytes / 4);  // headroom: T grows in steps
    return buf->f32();
}

std::size_t Workspace::bytes() const {
    std::size_t n = 0;
    for (const auto& [slot, buf] : buffers_) n += buf->bytes();
    return n;
}

std::unique_ptr<kernels::Buffer> upload_f32(kernels::Backend& backend,
                                            const std::vector<float>& v) {
    auto buf = backend.alloc(v.size() * sizeof(float));
    if (!v.empty()) backend.copy_from_host(v.data(), buf->data(), v.size() * sizeof(float));
    return buf;
}

}  // namespace statescope
