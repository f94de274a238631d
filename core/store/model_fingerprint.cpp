#include "core/store/model_fingerprint.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "core/store/sha256.h"

namespace statescope {
namespace fs = std::filesystem;
namespace {

constexpr std::uint64_t kSample = 64 * 1024;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw Error("cannot read " + p.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Each part is length-prefixed, so ("ab", "c") and ("a", "bc") hash differently.
void add_part(Sha256& h, std::string_view label, std::string_view bytes) {
    const std::uint64_t n = bytes.size();
    h.update(label);
    h.update(&n, sizeof n);
    h.update(bytes);
}

std::string read_at(std::ifstream& in, std::uint64_t offset, std::uint64_t size) {
    std::string buf(size, '\0');
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(buf.data(), static_cast<std::streamsize>(size));
    buf.resize(static_cast<std::size_t>(in.gcount()));
    return buf;
}

void add_weights(Sha256& h, const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error("cannot read " + file.string());
    const std::uint64_t size = fs::file_size(file);
    std::string len_bytes = read_at(in, 0, 8);
    if (len_bytes.size() != 8) throw Error(file.string() + " is too short for a safetensors file");
    std::uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | std::uint8_t(len_bytes[i]);
    if (header_len > size - 8)
        throw Error(file.string() + ": safetensors header length past the end");
    add_part(h, file.filename().string(), read_at(in, 8, header_len));
    const std::uint64_t data_start = 8 + header_len;
    const std::uint64_t data_size = size - data_start;
    add_part(h, "head", read_at(in, data_start, std::min(kSample, data_size)));
    if (data_size > kSample) {
        const std::uint64_t tail = std::min(kSample, data_size - kSample);
        add_part(h, "tail", read_at(in, size - tail, tail));
    }
}

}  // namespace

ModelInfo model_info_for(const fs::path& model_dir) {
    const fs::path config_path = model_dir / "config.json";
    const std::string config = slurp(config_path);
    ModelInfo info;
    info.path = fs::weakly_canonical(model_dir).string();
    try {
        const auto j = nlohmann::json::parse(config);
        if (j.contains("model_type") && j["model_type"].is_string()) {
            info.model_type = j["model_type"].get<std::string>();
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(config_path.string() + ": not JSON (" + e.what() + ")");
    }
    Sha256 h;
    add_part(h, "config.json", config);
    const fs::path index = model_dir / "model.safetensors.index.json";
    if (fs::exists(index)) add_part(h, "index", slurp(index));
    std::vector<fs::path> weights;
    for (const auto& e : fs::directory_iterator(model_dir)) {
        if (e.is_regular_file() && e.path().extension() == ".safetensors")
            weights.push_back(e.path());
    }
    std::sort(weights.begin(), weights.end());
    for (const auto& w : weights) add_weights(h, w);
    info.content_hash = h.hex_digest();
    return info;
}

}  // namespace statescope
