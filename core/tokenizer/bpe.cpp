#include "core/tokenizer/bpe.h"

#include <cstdio>
#include <queue>

#include "core/tokenizer/unicode.h"

namespace statescope::tok {

namespace {

std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
}

}  // namespace

Bpe::Bpe(const Json& json, const std::string& path, const JsonReader& reader) {
    if (const Json* dropout = reader.optional_field(json, "dropout")) {
        // Dropout makes encoding random; HF treats 0 (and null) as none.
        if (!dropout->is_number() || dropout->get<double>() != 0.0) {
            reader.fail(JsonReader::child(path, "dropout") +
                        " is set; BPE dropout is for training and is not supported");
        }
    }
    unk_token_ = reader.optional_string(json, path, "unk_token");
    continuing_subword_prefix_ =
        reader.optional_string(json, path, "continuing_subword_prefix").value_or("");
    end_of_word_suffix_ = reader.optional_string(json, path, "end_of_word_suffix").value_or("");
    fuse_unk_ = reader.bool_field(json, path, "fuse_unk", false);
    byte_fallback_ = reader.bool_field(json, path, "byte_fallback", false);
    ignore_merges_ = reader.bool_field(json, path, "ignore_merges", false);

    const std::string vocab_path = JsonReader::child(path, "vocab");
    const Json& vocab = reader.field(json, path, "vocab");
    if (!vocab.is_object()) reader.fail(vocab_path + " is not an object of token: id");
    vocab_.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        const Json& id = it.value();
        if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
            id.get<std::int64_t>() > INT32_MAX) {
            reader.fail(vocab_path + "[\"" + it.key() + "\"] is not a non-negative 32-bit id");
        }
        const auto value = static_cast<std::int32_t>(id.get<std::int64_t>());
        vocab_[it.key()] = value;
        if (static_cast<std::size_t>(value) >= tokens_.size()) {
            tokens_.resize(static_cast<std::size_t>(value) + 1);
            has_token_.resize(static_cast<std::size_t>(value) + 1);
        }
        tokens_[static_cast<std::size_t>(value)] = it.key();
        has_token_[static_cast<std::size_t>(value)] = true;
    }
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        const auto found = vocab_.find(std::string_view(name));
        byte_ids_[b] = found == vocab_.end() ? -1 : found->second;
    }
    if (unk_token_ && !vocab_.contains(*unk_token_)) {
        reader.fail(JsonReader::child(path, "unk_token") + " \"" + *unk_token_ +
                    "\" is not in the vocabulary");
    }

    const std::string merges_path = JsonReader::child(path, "merges");
    const Json* merges = reader.optional_field(json, "merges");
    if (merges != nullptr && !merges->is_array()) reader.fail(merges_path + " is not a list");
    if (merges == nullptr) return;
    merges_.reserve(merges->size());
    std::uint32_t rank = 0;
    std::string merged;
    for (std::size_t i = 0; i < merges->size(); ++i) {
        const Json& entry = (*merges)[i];
        std::string_view left, right;
        std::string line;
        if (entry.is_string()) {
            line = entry.get<std::string>();
            // merges.txt heritage: "#version" lines are skipped and do not take a rank.
            if (line.starts_with("#version")) continue;
            const std::size_t space = line.find(' ');
            if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
                reader.fail(JsonReader::index(merges_path, i) + " is not \"a b\" or [\"a\",\"b\"]");
            }
            left = std::string_view(line).substr(0, space);
            right = std::string_view(line).substr(space + 1);
        } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() &&
                   entry[1].is_string()) {
            left = entry[0].get_ref<const std::string&>();
            right = entry[1].get_ref<const std::string&>();
        } else {
            reader.fail(JsonReader::index(merges_path, i) + " is not \"a b\" or [\"a\",\"b\"]");
        }
        const auto token_id = [&](std::string_view token) {
            const auto found = vocab_.find(token);
            if (found == vocab_.end()) {
                reader.fail(JsonReader::index(merges_path, i) + " uses \"" + std::string(token) +
                            "\", which is not in the vocabulary");
            }
            return found->second;
        };
        const std::int32_t left_id = token_id(left);
        const std::int32_t right_id = token_id(right);
        // The right part drops its continuing-subword prefix when glued on.
        std::string_view right_body = right;
        if (!continuing_subword_prefix_.empty() &&
            right_body.starts_with(continuing_subword_prefix_)) {
            right_body.remove_prefix(continuing_subword_prefix_.size());
        }
        merged.assign(left);
        merged.append(right_body);
        // A repeated pair keeps the later rank, as HF's map insertion does.
        merges_[pair_key(left_id, right_id)] = Merge{rank, token_id(merged)};
        ++rank;
    }
}

std::optional<std::int32_t> Bpe::token_to_id(std::string_view token) const {
    const auto found = vocab_.find(token);
    if (found == vocab_.end()) return std::nullopt;
    return found->second;
}

const std::string* Bpe::id_to_token(std::int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size() ||
        !has_token_[static_cast<std::size_t>(id)]) {
        return nullptr;
    }
    return &tokens_[static_cast<std::size_t>(id)];
}

const Bpe::Merge* Bpe::find_merge(std::int32_t left, std::int32_t right) const {
    const auto found = merges_.find(pair_key(left, right));
    return found == merges_.end() ? nullptr : &found->second;
}

void Bpe::tokenize(std::string_view word, std::vector<std::int32_t>& ids) const {
    if (word.empty()) return;
    if (ignore_merges_) {
        // Llama-3 style: a word that is itself in the vocabulary is never split.
        if (const auto id = token_to_id(word)) {
            ids.push_back(*id);
            return;
        }
    }
    if (word.size() < kCacheMaxWordBytes) {
        std::lock_guard lock(cache_mutex_);
        const auto hit = cache_.find(word);
        if (hit != cache_.end()) {
            ids.insert(ids.end(), hit->second.begin(), hit->second.end());
            return;
        }
    }
    std::vector<std::int32_t> merged = merge_word(word);
    ids.insert(ids.end(), merged.begin(), merged.end());
    if (word.size() < kCacheMaxWordBytes) {
        std::lock_guard lock(cache_mutex_);
        if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(word), std::move(merged));
    }
}

std::vector<std::int32_t> Bpe::merge_word(std::string_view word) const {
    // Symbols of the word: a doubly linked list so merges are O(1); len 0 marks a merged-away one.
    struct Symbol {
        std::int32_t id;
        std::int32_t prev;
        std::int32_t next;
        std::size_t len;
    };
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    const auto add = [&](std::int32_t id, std::size_t len) {
        const auto index = static_cast<std::int32_t>(symbols.size());
        symbols.push_back({id, index - 1, -1, len});
        if (index > 0) symbols[static_cast<std::size_t>(index) - 1].next = index;
    };

    std::int32_t unk_id = -1;  // a pending unknown token (fused with the next ones when fuse_unk)
    std::size_t unk_len = 0;
    std::string piece;
    std::size_t pos = 0;
    while (pos < word.size()) {
        const std::size_t start = pos;
        next_code_point(word, pos);
        const std::string_view ch = word.substr(start, pos - start);
        piece.clear();
        if (start > 0) piece += continuing_subword_prefix_;
        piece += ch;
        if (pos == word.size()) piece += end_of_word_suffix_;

        if (const auto id = token_to_id(piece)) {
            if (unk_id >= 0) {
                add(unk_id, unk_len);
                unk_id = -1;
            }
            add(*id, ch.size());
            continue;
        }
        if (byte_fallback_) {
            // Every byte of the (decorated) character must have its <0xAB> token, else unk.
            // HF adds these without flushing a pending unk first; the order is kept.
            bool all = true;
            for (const char b : piece) all = all && byte_ids_[static_cast<unsigned char>(b)] >= 0;
            if (all) {
                for (const char b : piece) add(byte_ids_[static_cast<unsigned char>(b)], 1);
                continue;
            }
        }
        if (unk_token_) {
            if (unk_id >= 0 && fuse_unk_) {
                unk_len += ch.size();
            } else {
                if (unk_id >= 0) add(unk_id, unk_len);
                unk_id = vocab_.find(*unk_token_)->second;
                unk_len = ch.size();
            }
        }
        // Without unk_token the character is dropped, as HF does.
    }
    if (unk_id >= 0) add(unk_id, unk_len);

    // Apply merges lowest rank first (ties: leftmost), skipping queue entries made stale by an
    // earlier merge, exactly as HF's Word::merge_all.
    struct Candidate {
        std::uint32_t rank;
        std::int32_t pos;
        std::int32_t new_id;
        bool operator>(const Candidate& o) const {
            return rank != o.rank ? rank > o.rank : pos > o.pos;
        }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
        if (const Merge* m = find_merge(symbols[i].id, symbols[i + 1].id)) {
            queue.push({m->rank, static_cast<std::int32_t>(i), m->new_id});
        }
    }
    while (!queue.empty()) {
        const Candidate top = queue.top();
        queue.pop();
        Symbol& current = symbols[static_cast<std::size_t>(top.pos)];
        if (current.len == 0 || current.next == -1) continue;
        const auto next_index = static_cast<std::size_t>(current.next);
        const Symbol right = symbols[next_index];
        const Merge* m = find_merge(current.id, right.id);
        if (m == nullptr || m->new_id != top.new_id) continue;

        current.id = top.new_id;
        current.len += right.len;
        current.next = right.next;
        symbols[next_index].len = 0;
        if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = top.pos;

        if (current.prev >= 0) {
            const Symbol& prev = symbols[static_cast<std::size_t>(current.prev)];
            if (const Merge* pm = find_merge(prev.id, current.id)) {
                queue.push({pm->rank, current.prev, pm->new_id});
            }
        }
        if (current.next >= 0) {
            const Symbol& next = symbols[static_cast<std::size_t>(current.next)];
            if (const Merge* nm = find_merge(current.id, next.id)) {
                queue.push({nm->rank, top.pos, nm->new_id});
            }
        }
    }
    std::vector<std::int32_t> ids;
    for (const Symbol& s : symbols) {
        if (s.len != 0) ids.push_back(s.id);
    }
    return ids;
}

}  // namespace statescope::tok
