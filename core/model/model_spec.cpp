#include "core/model/model_spec.h"

#include <utility>

#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope {

namespace {

// Adding a model_type: one adapter file in adapters/ and one line here.
constexpr std::pair<const char*, adapters::BuildFn> kAdapters[] = {
    {"mamba", adapters::build_mamba},
    {"falcon_mamba", adapters::build_mamba},
    {"mamba2", adapters::build_mamba2},
    {"jamba", adapters::build_jamba},
    {"bamba", adapters::build_bamba},
    {"falcon_h1", adapters::build_falcon_h1},
    {"nemotron_h", adapters::build_nemotron_h},
    {"granitemoehybrid", adapters::build_granitemoehybrid},
    {"zamba2", adapters::build_zamba2},
    {"llama", adapters::build_llama},
    {"mistral", adapters::build_llama},
    {"qwen2", adapters::build_llama},
    {"qwen3", adapters::build_llama},
};

}  // namespace

const PartSpec& BlockSpec::main() const {
    for (const PartSpec& p : parts)
        if (p.kind == MixerKind::Mamba1 || p.kind == MixerKind::Mamba2) return p;
    return parts.at(0);
}

const char* PartSpec::kind_name() const {
    switch (kind) {
        case MixerKind::Mamba1:
            return "mamba1";
        case MixerKind::Mamba2:
            return "mamba2";
        case MixerKind::Attention:
            return "attention";
        case MixerKind::Mlp:
            return "mlp";
        case MixerKind::Moe:
            return "moe";
        case MixerKind::Zamba2Hybrid:
            return "zamba2_hybrid";
    }
    return "?";
}

std::string ModelSpec::layer_pattern() const {
    std::string out;
    for (const BlockSpec& b : blocks) {
        for (const PartSpec& p : b.parts) {
            if (p.parallel) out += '+';
            switch (p.kind) {
                case MixerKind::Mamba1:
                case MixerKind::Mamba2:
                    out += 'M';
                    break;
                case MixerKind::Attention:
                    out += '*';
                    break;
                case MixerKind::Mlp:
                    out += '-';
                    break;
                case MixerKind::Zamba2Hybrid:
                    out += 'H';
                    break;
                case MixerKind::Moe:
                    out += 'E';
                    break;
            }
        }
    }
    return out;
}

std::vector<std::string> supported_model_types() {
    std::vector<std::string> out;
    for (const auto& [name, fn] : kAdapters) out.emplace_back(name);
    return out;
}

ModelSpec build_model_spec(const Config& config, const WeightStore& weights,
                           const std::filesystem::path& dir) {
    const std::string type = config.get_string("model_type");
    for (const auto& [name, fn] : kAdapters) {
        if (type == name) {
            ModelSpec spec = fn(config, weights);
            spec.dir = dir;
            return spec;
        }
    }
    std::string list;
    for (const auto& [name, fn] : kAdapters) list += (list.empty() ? "" : ", ") + std::string(name);
    throw Error(config.source() + ": model_type \"" + type +
                "\" is not supported (supported: " + list + ")");
}

ModelSpec load_model_spec(const std::filesystem::path& dir, const WeightStore& weights) {
    const auto path = dir / "config.json";
    if (!std::filesystem::exists(path))
        throw Error("cannot load model: " + dir.string() + " has no config.json");
    return build_model_spec(Config::load(path), weights, dir);
}

}  // namespace statescope
