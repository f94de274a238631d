// Scratch activations of one forward call, in backend memory, grown on demand and reused, so decode
// allocates nothing per token. Slots are named by the layer code that uses them.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"

namespace statescope {

class Workspace {
  public:
    explicit Workspace(kernels::Backend& backend) : backend_(backend) {}
    // A buffer of at least n floats for `slot`; its contents are undefined between calls.
    float* get(const std::string& slot, std::size_t n);
    std::size_t bytes() const;

  private:
    kernels::Backend& backend_;
    std::map<std::string, std::unique_ptr<kernels::Buffer>> buffers_;
};

// Uploads a host fp32 vector into backend memory.
std::unique_ptr<kernels::Buffer> upload_f32(kernels::Backend& backend, const std::vector<float>& v);

}  // namespace statescope
