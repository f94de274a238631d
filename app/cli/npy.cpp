#include "app/cli/npy.h"

#include <fstream>
#include <string>

#include "core/error.h"

namespace statescope::cli {

void write_npy_f32(const std::filesystem::path& path, std::span<const float> data,
                   const std::vector<std::int64_t>& shape) {
    std::string dims;
    for (auto d : shape) dims += std::to_string(d) + ", ";
    if (shape.size() > 1) dims.resize(dims.size() - 2);  // "(3, 4)"; a 1-D shape keeps its comma: "(3,)"
    else if (!dims.empty()) dims.resize(dims.size() - 1);
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    // magic(6) + version(2) + header_len(2) + header + '\n' padded to a multiple of 64 bytes.
    const std::size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    const auto tmp = std::filesystem::path(path.string() + ".tmp");
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error("cannot write " + tmp.string());
        const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
        out.write(reinterpret_cast<const char*>(magic), 8);
        const std::uint16_t len = static_cast<std::uint16_t>(header.size());
        const unsigned char len_le[2] = {static_cast<unsigned char>(len & 0xff), static_cast<unsigned char>(len >> 8)};
        out.write(reinterpret_cast<const char*>(len_le), 2);
        out.write(header.data(), static_cast<std::streamsize>(header.size()));
        out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size_bytes()));
        if (!out) throw Error("cannot write " + tmp.string() + " (disk full?)");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw Error("cannot write " + path.string() + ": " + ec.message());
}

}  // namespace statescope::cli
