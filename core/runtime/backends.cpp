#include "core/runtime/backends.h"

#include "core/error.h"

namespace statescope {

std::unique_ptr<kernels::Backend> make_backend(const std::string& name) {
    if (name == "cpu") return kernels::make_cpu_backend();
    if (name == "cuda")
        throw Error(
            "backend \"cuda\" is not available: this build has no CUDA backend (build with nvcc "
            "and "
            "-DSTATESCOPE_CUDA=ON)");
    throw Error("unknown backend \"" + name + "\" (available: cpu)");
}

std::vector<std::string> available_backends() {
    return {"cpu"};
}

}  // namespace statescope
