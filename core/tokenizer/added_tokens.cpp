#include "core/tokenizer/added_tokens.h"

#include <algorithm>

#include "core/tokenizer/normalizers.h"
#include "core/tokenizer/unicode.h"

namespace statescope::tok {

void AddedVocabulary::Trie::insert(std::string_view key, std::size_t token_index) {
    std::uint32_t node = 0;
    for (const char ch : key) {
        const auto byte = static_cast<unsigned char>(ch);
        auto& children = nodes_[node].children;
        const auto found = std::find_if(children.begin(), children.end(),
                                        [&](const auto& c) { return c.first == byte; });
        if (found != children.end()) {
            node = found->second;
        } else {
            const auto next = static_cast<std::uint32_t>(nodes_.size());
            children.emplace_back(byte, next);
            nodes_.emplace_back();
            node = next;
        }
    }
    if (!key.empty()) first_byte_[static_cast<unsigned char>(key[0])] = true;
    // A later token with the same match form replaces the earlier one, like HF's map insert.
    nodes_[node].token = static_cast<std::int64_t>(token_index);
}

std::optional<std::pair<std::size_t, std::size_t>> AddedVocabulary::Trie::longest_at(
    std::string_view text, std::size_t pos) const {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) return std::nullopt;
    std::optional<std::pair<std::size_t, std::size_t>> best;
    std::uint32_t node = 0;
    for (std::size_t i = pos; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        const auto& children = nodes_[node].children;
        const auto found = std::find_if(children.begin(), children.end(),
                                        [&](const auto& c) { return c.first == byte; });
        if (found == children.end()) break;
        node = found->second;
        if (nodes_[node].token >= 0) {
            best = std::make_pair(i + 1, static_cast<std::size_t>(nodes_[node].token));
        }
    }
    return best;
}

void AddedVocabulary::add(AddedToken token, const Normalizer* normalizer) {
    // HF ignores empty contents.
    if (token.content.empty()) return;
    token.match_form = token.content;
    if (token.normalized && normalizer != nullptr) {
        NormalizedString form(token.content, 0);
        normalizer->normalize(form);
        token.match_form = form.text();
    }
    id_limit_ = std::max<std::int64_t>(id_limit_, static_cast<std::int64_t>(token.id) + 1);
    id_by_content_[token.content] = token.id;
    const auto existing = index_by_id_.find(token.id);
    if (existing != index_by_id_.end()) {
        tokens_[existing->second] = std::move(token);
    } else {
        index_by_id_[token.id] = tokens_.size();
        tokens_.push_back(std::move(token));
    }
}

void AddedVocabulary::build_tries() {
    raw_trie_ = Trie();
    normalized_trie_ = Trie();
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
        // A normalizer may turn a token into nothing; such a token can never match.
        if (tokens_[i].match_form.empty()) continue;
        (tokens_[i].normalized ? normalized_trie_ : raw_trie_).insert(tokens_[i].match_form, i);
    }
}

const AddedToken* AddedVocabulary::by_id(std::int32_t id) const {
    const auto found = index_by_id_.find(id);
    return found == index_by_id_.end() ? nullptr : &tokens_[found->second];
}

std::optional<std::int32_t> AddedVocabulary::id_of(std::string_view content) const {
    const auto found = id_by_content_.find(std::string(content));
    if (found == id_by_content_.end()) return std::nullopt;
    return found->second;
}

std::vector<Piece> AddedVocabulary::split_on(const NormalizedString& text, const Trie& trie) const {
    const std::string& s = text.text();
    std::vector<Piece> out;
    if (trie.empty() || s.empty()) {
        out.push_back(Piece{text.slice(0, s.size())});
        return out;
    }
    const auto char_before = [&](std::size_t pos) {
        std::size_t start = pos - 1;
        while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        return next_code_point(s, start);
    };
    const auto char_at = [&](std::size_t pos) { return next_code_point(s, pos); };

    std::size_t emitted = 0;  // HF's start_offset: end of the last piece pushed
    std::size_t pos = 0;
    while (pos < s.size()) {
        const auto match = trie.longest_at(s, pos);
        if (!match) {
            ++pos;
            continue;
        }
        std::size_t start = pos;
        std::size_t stop = match->first;
        const AddedToken& token = tokens_[match->second];
        // Leftmost-longest matching continues after this match even when it is discarded below.
        pos = stop;
        if (token.single_word) {
            // Both neighbours must be non-word characters (or the ends of the text).
            const bool start_ok = start == 0 || !is_word_char(char_before(start));
            const bool stop_ok = stop == s.size() || !is_word_char(char_at(stop));
            if (!start_ok || !stop_ok) continue;
        }
        if (token.lstrip) {
            // Swallow the whitespace before the token, but not into a previous match.
            std::size_t new_start = start;
            while (new_start > 0 && is_white_space(char_before(new_start))) {
                std::size_t prev = new_start - 1;
                while (prev > 0 && (static_cast<unsigned char>(s[prev]) & 0xC0) == 0x80) --prev;
                new_start = prev;
            }
            start = std::max(new_start, emitted);
        }
        if (token.rstrip) {
            std::size_t p = stop;
            while (p < s.size()) {
                std::size_t q = p;
                if (!is_white_space(next_code_point(s, q))) break;
                p = q;
            }
            // HF's matcher still resumes at the token's own end, so a token inside the stripped
            // whitespace is found too (and overlaps); kept as HF does it.
            stop = p;
        }
        if (emitted < start) out.push_back(Piece{text.slice(emitted, start)});
        out.push_back(Piece{text.slice(start, stop), token.id});
        emitted = stop;
    }
    if (emitted != s.size()) out.push_back(Piece{text.slice(emitted, s.size())});
    return out;
}

Pieces AddedVocabulary::extract_and_normalize(std::string_view text,
                                              const Normalizer* normalizer) const {
    Pieces pieces;
    pieces.push_back(Piece{NormalizedString(text, 0)});
    split_pieces(pieces, [&](const NormalizedString& piece) { return split_on(piece, raw_trie_); });
    split_pieces(pieces, [&](NormalizedString& piece) {
        if (normalizer != nullptr) normalizer->normalize(piece);
        return split_on(piece, normalized_trie_);
    });
    return pieces;
}

}  // namespace statescope::tok
