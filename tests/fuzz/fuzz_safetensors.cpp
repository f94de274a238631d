// Fuzz target: arbitrary bytes as a safetensors file. Must end in a parsed file or a statescope::Error,
// and every tensor handed out must lie inside the buffer (ASan checks the reads below).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // An exact-size heap copy, so ASan catches any read one byte past the end.
    auto copy = std::make_shared<std::vector<std::byte>>(size);
    if (size) std::memcpy(copy->data(), data, size);
    try {
        auto file = statescope::SafetensorsFile::from_memory(copy->data(), size, "fuzz.safetensors", copy);
        std::uint8_t sink = 0;
        for (const auto& [name, info] : file.tensors()) {
            const auto* bytes = reinterpret_cast<const std::uint8_t*>(info.data);
            for (std::size_t i = 0; i < info.bytes; i += 97) sink ^= bytes[i];
            if (info.bytes) sink ^= bytes[info.bytes - 1];
            if (info.numel() < 4096) {
                try {
                    (void)info.to_f32();
                } catch (const statescope::Error&) {
                }
            }
        }
        volatile std::uint8_t keep = sink;
        (void)keep;
    } catch (const statescope::Error&) {
    }
    return 0;
}
