// Fuzz target: arbitrary bytes as config.json, parsed and turned into a ModelSpec against the weights of
// a real tiny checkpoint. Must end in a spec or a statescope::Error, never a crash or UB.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "core/model/config.h"
#include "core/model/model_spec.h"
#include "core/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const statescope::WeightStore mamba =
        statescope::WeightStore::open_dir(std::string(STATESCOPE_TEST_DATA) + "/golden/mamba-tiny");
    static const statescope::WeightStore mamba2 =
        statescope::WeightStore::open_dir(std::string(STATESCOPE_TEST_DATA) + "/golden/mamba2-tiny");
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto cfg = statescope::Config::parse(text, "config.json");
        (void)cfg.get_float("time_step_limit", 0.0);
        (void)cfg.get_int_list("eos_token_id");
        for (const auto* store : {&mamba, &mamba2}) {
            try {
                (void)statescope::build_model_spec(cfg, *store, "fuzz");
            } catch (const statescope::Error&) {
            }
        }
    } catch (const statescope::Error&) {
    }
    return 0;
}
