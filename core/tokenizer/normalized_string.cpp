#include "core/tokenizer/normalized_string.h"

#include <algorithm>

#include "core/tokenizer/unicode.h"

namespace statescope::tok {

void NormalizedBuilder::push(char32_t c, std::size_t origin) {
    const std::size_t before = text.size();
    append_utf8(text, c);
    origins.insert(origins.end(), text.size() - before, origin);
}

void NormalizedBuilder::push_bytes(std::string_view utf8, std::size_t origin) {
    text.append(utf8);
    origins.insert(origins.end(), utf8.size(), origin);
}

NormalizedString::NormalizedString(std::string_view text, std::size_t original_start)
    : text_(text), original_start_(original_start) {
    origins_.resize(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t start = pos;
        next_code_point(text, pos);
        std::fill(origins_.begin() + static_cast<std::ptrdiff_t>(start),
                  origins_.begin() + static_cast<std::ptrdiff_t>(pos), original_start + start);
    }
}

NormalizedString NormalizedString::slice(std::size_t begin, std::size_t end) const {
    NormalizedString piece;
    piece.text_ = text_.substr(begin, end - begin);
    piece.origins_.assign(origins_.begin() + static_cast<std::ptrdiff_t>(begin),
                          origins_.begin() + static_cast<std::ptrdiff_t>(end));
    // HF converts the normalized range to an original one through the alignments (their minimum
    // start); an empty range keeps its normalized offset. Only non-empty pieces survive anyway.
    piece.original_start_ = piece.origins_.empty()
                                ? original_start_ + begin
                                : *std::min_element(piece.origins_.begin(), piece.origins_.end());
    return piece;
}

void NormalizedString::assign(NormalizedBuilder&& built) {
    text_ = std::move(built.text);
    origins_ = std::move(built.origins);
}

void NormalizedString::replace(const std::vector<ByteRange>& matches, std::string_view content) {
    if (matches.empty()) return;
    NormalizedBuilder out;
    std::size_t last = 0;
    for (const auto& [begin, end] : matches) {
        out.text.append(text_, last, begin - last);
        out.origins.insert(out.origins.end(), origins_.begin() + static_cast<std::ptrdiff_t>(last),
                           origins_.begin() + static_cast<std::ptrdiff_t>(begin));
        // An empty match at the very start has no byte before it: HF aligns it to (0, 0).
        const std::size_t origin = end > 0 ? origins_[end - 1] : original_start_;
        out.push_bytes(content, origin);
        last = end;
    }
    out.text.append(text_, last);
    out.origins.insert(out.origins.end(), origins_.begin() + static_cast<std::ptrdiff_t>(last),
                       origins_.end());
    assign(std::move(out));
}

void NormalizedString::prepend(std::string_view prefix) {
    if (text_.empty()) return;
    text_.insert(0, prefix);
    origins_.insert(origins_.begin(), prefix.size(), origins_.front());
}

std::vector<NormalizedString> NormalizedString::split(const std::vector<Span>& spans,
                                                      SplitBehavior behavior) const {
    // (range, remove) pairs, merged per behavior exactly as HF folds them.
    struct Cut {
        std::size_t begin, end;
        bool remove;
    };
    std::vector<Cut> pieces;
    pieces.reserve(spans.size());
    switch (behavior) {
        case SplitBehavior::Isolated:
            for (const Span& s : spans) pieces.push_back({s.begin, s.end, false});
            break;
        case SplitBehavior::Removed:
            for (const Span& s : spans) pieces.push_back({s.begin, s.end, s.is_match});
            break;
        case SplitBehavior::Contiguous: {
            bool previous_match = false;
            for (const Span& s : spans) {
                if (s.is_match == previous_match && !pieces.empty()) {
                    pieces.back().end = s.end;
                } else {
                    pieces.push_back({s.begin, s.end, false});
                }
                previous_match = s.is_match;
            }
            break;
        }
        case SplitBehavior::MergedWithPrevious: {
            bool previous_match = false;
            for (const Span& s : spans) {
                if (s.is_match && !previous_match && !pieces.empty()) {
                    pieces.back().end = s.end;
                } else {
                    pieces.push_back({s.begin, s.end, false});
                }
                previous_match = s.is_match;
            }
            break;
        }
        case SplitBehavior::MergedWithNext: {
            bool previous_match = false;
            for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
                if (it->is_match && !previous_match && !pieces.empty()) {
                    pieces.back().begin = it->begin;
                } else {
                    pieces.push_back({it->begin, it->end, false});
                }
                previous_match = it->is_match;
            }
            std::reverse(pieces.begin(), pieces.end());
            break;
        }
    }
    std::vector<NormalizedString> out;
    out.reserve(pieces.size());
    for (const Cut& p : pieces) {
        if (!p.remove) out.push_back(slice(p.begin, p.end));
    }
    return out;
}

std::vector<Span> regex_spans(const Regex& regex, std::string_view text) {
    if (text.empty()) return {{0, 0, false}};
    std::vector<Span> spans;
    std::size_t previous = 0;
    for (const auto& [begin, end] : regex.find_all(text)) {
        if (previous != begin) spans.push_back({previous, begin, false});
        spans.push_back({begin, end, true});
        previous = end;
    }
    if (previous != text.size()) spans.push_back({previous, text.size(), false});
    return spans;
}

void invert(std::vector<Span>& spans) {
    for (Span& s : spans) s.is_match = !s.is_match;
}

}  // namespace statescope::tok
