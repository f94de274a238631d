#include "core/model/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace statescope {

namespace {

struct DTypeRow {
    StDType type;
    const char* name;
    std::size_t size;
};
constexpr DTypeRow kDTypes[] = {
    {StDType::F64, "F64", 8},   {StDType::F32, "F32", 4},         {StDType::F16, "F16", 2},
    {StDType::BF16, "BF16", 2}, {StDType::I64, "I64", 8},         {StDType::I32, "I32", 4},
    {StDType::I16, "I16", 2},   {StDType::I8, "I8", 1},           {StDType::U8, "U8", 1},
    {StDType::BOOL, "BOOL", 1}, {StDType::F8_E4M3, "F8_E4M3", 1}, {StDType::F8_E5M2, "F8_E5M2", 1},
};

std::string where(const std::filesystem::path& file, const std::string& tensor) {
    return "tensor \"" + tensor + "\" in " + file.string();
}

std::uint64_t read_le64(const std::byte* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | std::uint64_t(p[i]);
    return v;
}

}  // namespace

std::size_t st_dtype_size(StDType t) {
    for (const auto& row : kDTypes)
        if (row.type == t) return row.size;
    return 0;
}

const char* st_dtype_name(StDType t) {
    for (const auto& row : kDTypes)
        if (row.type == t) return row.name;
    return "?";
}

std::optional<StDType> st_dtype_from_name(const std::string& name) {
    for (const auto& row : kDTypes)
        if (name == row.name) return row.type;
    return std::nullopt;
}

std::int64_t TensorInfo::numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

std::string TensorInfo::shape_string() const {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

kernels::DType TensorInfo::weight_dtype() const {
    switch (dtype) {
        case StDType::F32:
            return kernels::DType::F32;
        case StDType::BF16:
            return kernels::DType::BF16;
        case StDType::F16:
            return kernels::DType::F16;
        default:
            throw Error(where(file, name) + " has dtype " + st_dtype_name(dtype) +
                        "; weights must be F32, BF16 or F16");
    }
}

std::vector<float> TensorInfo::to_f32() const {
    std::vector<float> out(static_cast<std::size_t>(numel()));
    if (dtype == StDType::F64) {
        for (std::size_t i = 0; i < out.size(); ++i) {
            double v;
            std::memcpy(&v, data + 8 * i, 8);
            out[i] = static_cast<float>(v);
        }
        return out;
    }
    const kernels::DType t = weight_dtype();
    if (reinterpret_cast<std::uintptr_t>(data) % kernels::dtype_size(t) == 0) {
        kernels::widen_to_f32(data, t, out.size(), out.data());
    } else {
        // The format does not promise aligned offsets; widen from an aligned copy.
        std::vector<std::uint32_t> aligned((bytes + 3) / 4);
        std::memcpy(aligned.data(), data, bytes);
        kernels::widen_to_f32(aligned.data(), t, out.size(), out.data());
    }
    return out;
}

std::vector<std::int64_t> TensorInfo::to_i64() const {
    std::vector<std::int64_t> out(static_cast<std::size_t>(numel()));
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (dtype == StDType::I64) {
            std::memcpy(&out[i], data + 8 * i, 8);
        } else if (dtype == StDType::I32) {
            std::int32_t v;
            std::memcpy(&v, data + 4 * i, 4);
            out[i] = v;
        } else {
            throw Error(where(file, name) + " has dtype " + st_dtype_name(dtype) +
                        "; expected I64 or I32");
        }
    }
    return out;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
    auto file = MappedFile::open(path);
    return from_memory(file->data(), file->size(), path, file);
}

SafetensorsFile SafetensorsFile::from_memory(const std::byte* data, std::size_t size,
                                             const std::filesystem::path& name,
                                             std::shared_ptr<const void> owner) {
    const std::string fname = name.string();
    if (size < 8)
        throw Error(fname + ": truncated safetensors file (" + std::to_string(size) +
                    " bytes; the 8-byte header length is missing)");
    const std::uint64_t header_len = read_le64(data);
    if (header_len > kMaxHeaderBytes)
        throw Error(fname + ": safetensors header length " + std::to_string(header_len) +
                    " exceeds the 100 MB limit");
    if (header_len > size - 8)
        throw Error(fname + ": safetensors header length " + std::to_string(header_len) +
                    " runs past the end of the file (" + std::to_string(size) + " bytes)");
    const char* header_begin = reinterpret_cast<const char*>(data + 8);
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(header_begin, header_begin + header_len);
    } catch (const nlohmann::json::exception& e) {
        throw Error(fname + ": safetensors header is not valid JSON: " + e.what());
    }
    if (!header.is_object()) throw Error(fname + ": safetensors header is not a JSON object");

    SafetensorsFile out;
    out.path_ = name;
    out.owner_ = std::move(owner);
    const std::byte* body = data + 8 + header_len;
    const std::uint64_t body_size = size - 8 - header_len;

    struct Span {
        std::uint64_t begin, end;
        const std::string* name;
    };
    std::vector<Span> spans;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& key = it.key();
        const auto& entry = it.value();
        if (key == "__metadata__") {
            if (!entry.is_object()) throw Error(fname + ": __metadata__ is not an object");
            for (auto m = entry.begin(); m != entry.end(); ++m) {
                if (!m.value().is_string())
                    throw Error(fname + ": __metadata__ value \"" + m.key() + "\" is not a string");
                out.metadata_[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string at = where(name, key);
        if (!entry.is_object()) throw Error(at + ": header entry is not an object");
        auto dt = entry.find("dtype");
        if (dt == entry.end() || !dt->is_string())
            throw Error(at + ": dtype is missing or not a string");
        auto dtype = st_dtype_from_name(dt->get<std::string>());
        if (!dtype) throw Error(at + ": unknown dtype \"" + dt->get<std::string>() + "\"");
        auto sh = entry.find("shape");
        if (sh == entry.end() || !sh->is_array())
            throw Error(at + ": shape is missing or not an array");
        TensorInfo info;
        info.name = key;
        info.dtype = *dtype;
        info.file = name;
        // numel * itemsize must fit in 64 bits before it can be compared with the offsets.
        unsigned __int128 bytes = st_dtype_size(*dtype);
        for (const auto& d : *sh) {
            if (!d.is_number_unsigned())
                throw Error(at + ": shape " + sh->dump() +
                            " has a non-integer or negative dimension");
            std::uint64_t v = d.get<std::uint64_t>();
            if (v > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
                throw Error(at + ": shape " + sh->dump() + " is too large");
            info.shape.push_back(static_cast<std::int64_t>(v));
            bytes *= v;
            if (bytes > std::numeric_limits<std::uint64_t>::max())
                throw Error(at + ": shape " + sh->dump() + " is too large");
        }
        auto off = entry.find("data_offsets");
        if (off == entry.end() || !off->is_array() || off->size() != 2 ||
            !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned())
            throw Error(at + ": data_offsets must be two non-negative integers");
        const std::uint64_t begin = (*off)[0].get<std::uint64_t>();
        const std::uint64_t end = (*off)[1].get<std::uint64_t>();
        if (begin > end)
            throw Error(at + ": data_offsets [" + std::to_string(begin) + ", " +
                        std::to_string(end) + "] are reversed");
        if (end > body_size)
            throw Error(at + ": data_offsets [" + std::to_string(begin) + ", " +
                        std::to_string(end) + "] lie outside the file's data (" +
                        std::to_string(body_size) + " bytes)");
        if (std::uint64_t(bytes) != end - begin)
            throw Error(at + ": dtype " + st_dtype_name(*dtype) + " x shape " +
                        info.shape_string() + " = " + std::to_string(std::uint64_t(bytes)) +
                        " bytes, but data_offsets span " + std::to_string(end - begin));
        info.data = body + begin;
        info.bytes = end - begin;
        auto [pos, inserted] = out.tensors_.emplace(key, std::move(info));
        spans.push_back({begin, end, &pos->first});
    }
    // Tensors must not share bytes: an overlap means a damaged index (or an attempt to alias
    // weights).
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    for (std::size_t i = 1; i < spans.size(); ++i) {
        if (spans[i].begin < spans[i - 1].end)
            throw Error(fname + ": tensors \"" + *spans[i - 1].name + "\" and \"" + *spans[i].name +
                        "\" overlap in the data section");
    }
    return out;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
}

WeightStore WeightStore::open_file(const std::filesystem::path& file) {
    WeightStore store;
    store.dir_ = file.parent_path();
    store.files_.push_back(SafetensorsFile::open(file));
    for (const auto& [name, info] : store.files_.back().tensors()) store.index_[name] = &info;
    return store;
}

WeightStore WeightStore::open_dir(const std::filesystem::path& dir) {
    const auto single = dir / "model.safetensors";
    const auto index_path = dir / "model.safetensors.index.json";
    if (std::filesystem::exists(single)) {
        auto store = open_file(single);
        store.dir_ = dir;
        return store;
    }
    if (!std::filesystem::exists(index_path)) {
        std::string hint;
        if (std::filesystem::exists(dir / "pytorch_model.bin"))
            hint = " (pytorch_model.bin is there: convert it to safetensors first)";
        throw Error("cannot load model: " + dir.string() +
                    " has neither model.safetensors nor model.safetensors.index.json" + hint);
    }
    nlohmann::json index;
    {
        std::ifstream in(index_path);
        if (!in) throw Error("cannot open " + index_path.string());
        try {
            index = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            throw Error(index_path.string() + ": not valid JSON: " + e.what());
        }
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
        throw Error(index_path.string() + ": \"weight_map\" is missing or not an object");
    WeightStore store;
    store.dir_ = dir;
    std::map<std::string, std::size_t> shard_of;  // shard file name -> position in files_
    std::vector<std::pair<std::string, std::string>> wanted;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
        if (!it.value().is_string())
            throw Error(index_path.string() + ": weight_map[\"" + it.key() +
                        "\"] is not a file name");
        const std::string shard = it.value().get<std::string>();
        // A shard name is a plain file name next to the index; anything else could read outside the
        // folder.
        if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
            throw Error(index_path.string() + ": weight_map[\"" + it.key() + "\"] names \"" +
                        shard + "\", which is not a file in the same folder");
        if (!shard_of.count(shard)) {
            shard_of[shard] = store.files_.size();
            store.files_.push_back(SafetensorsFile::open(dir / shard));
        }
        wanted.emplace_back(it.key(), shard);
    }
    for (const auto& [name, shard] : wanted) {
        const TensorInfo* info = store.files_[shard_of[shard]].find(name);
        if (info == nullptr)
            throw Error(index_path.string() + ": tensor \"" + name + "\" is listed in " + shard +
                        " but that file does not contain it");
        store.index_[name] = info;
    }
    return store;
}

const TensorInfo* WeightStore::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : it->second;
}

const TensorInfo& WeightStore::get(const std::string& name) const {
    const TensorInfo* info = find(name);
    if (info == nullptr)
        throw Error("cannot load model: tensor \"" + name + "\" is missing from " + dir_.string());
    return *info;
}

std::vector<std::string> WeightStore::names() const {
    std::vector<std::string> out;
    for (const auto& [name, info] : index_) out.push_back(name);
    return out;
}

std::size_t WeightStore::total_bytes() const {
    std::size_t n = 0;
    for (const auto& [name, info] : index_) n += info->bytes;
    return n;
}

}  // namespace statescope
