#include "core/runtime/backends.h"

#include <exception>

#include "core/error.h"

namespace statescope {

std::unique_ptr<kernels::Backend> make_backend(const std::string& name) {
    if (name == "cpu") return kernels::make_cpu_backend();
    if (name == "cuda") {
#ifdef STATESCOPE_HAVE_CUDA
        try {
            return kernels::make_cuda_backend(0);
        } catch (const std::exception& e) {
            throw Error(std::string("backend \"cuda\" is not available: ") + e.what());
        }
#else
        throw Error(
            "backend \"cuda\" is not available: this build has no CUDA backend (build with nvcc "
            "and -DSTATESCOPE_CUDA=ON)");
#endif
    }
    throw Error("unknown backend \"" + name + "\" (available: " + [] {
        std::string s;
        for (const auto& b : available_backends()) s += (s.empty() ? "" : ", ") + b;
        return s;
    }() + ")");
}

// Backends this build has (a listed one may still be unusable on this machine: no GPU).
std::vector<std::string> available_backends() {
#ifdef STATESCOPE_HAVE_CUDA
    return {"cpu", "cuda"};
#else
    return {"cpu"};
#endif
}

}  // namespace statescope
