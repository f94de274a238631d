#include "core/model/safetensors_writer.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "kernels/dtype.h"

namespace statescope {

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    nlohmann::ordered_json header;
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::uint64_t offset = 0;
    for (const auto& t : tensors) {
        std::uint64_t numel = 1;
        for (auto d : t.shape) numel *= std::uint64_t(d);
        if (numel * st_dtype_size(t.dtype) != t.bytes.size())
            throw Error("write_safetensors: tensor \"" + t.name + "\" has " +
                        std::to_string(t.bytes.size()) + " bytes for its dtype and shape");
        header[t.name] = {{"dtype", st_dtype_name(t.dtype)},
                          {"shape", t.shape},
                          {"data_offsets", {offset, offset + t.bytes.size()}}};
        offset += t.bytes.size();
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8,
                ' ');  // pad with spaces so the data starts 8-byte aligned
    const auto tmp = std::filesystem::path(path.string() + ".tmp");
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error("cannot write " + tmp.string());
        std::uint64_t len = text.size();
        char le[8];
        for (int i = 0; i < 8; ++i) le[i] = char((len >> (8 * i)) & 0xff);
        out.write(le, 8);
        out.write(text.data(), std::streamsize(text.size()));
        for (const auto& t : tensors)
            out.write(reinterpret_cast<const char*>(t.bytes.data()),
                      std::streamsize(t.bytes.size()));
        if (!out) throw Error("cannot write " + tmp.string() + " (disk full?)");
    }
    std::filesystem::rename(tmp, path);
}

std::vector<std::uint8_t> encode_f32(const std::vector<float>& values, StDType dtype) {
    std::vector<std::uint8_t> out(values.size() * st_dtype_size(dtype));
    for (std::size_t i = 0; i < values.size(); ++i) {
        switch (dtype) {
            case StDType::F32:
                std::memcpy(&out[4 * i], &values[i], 4);
                break;
            case StDType::BF16: {
                const std::uint16_t h = kernels::f32_to_bf16(values[i]);
                std::memcpy(&out[2 * i], &h, 2);
                break;
            }
            case StDType::F16: {
                const std::uint16_t h = kernels::f32_to_f16(values[i]);
                std::memcpy(&out[2 * i], &h, 2);
                break;
            }
            default:
                throw Error(std::string("encode_f32: cannot encode as ") + st_dtype_name(dtype));
        }
    }
    return out;
}

}  // namespace statescope
