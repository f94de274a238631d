// A piece of the input as the normalizers and pre-tokenizers see it: its current text plus, for
// every byte, where in the original input the character it came from starts.
//
// HF tokenizers' NormalizedString keeps full alignments for offsets; Statescope only needs one
// thing from them: Metaspace's prepend_scheme "first" asks whether a piece starts at original
// offset 0, and HF answers that from the alignments after every normalizer and slice (so a Strip
// normalizer that eats leading spaces moves the piece's start off 0). Keeping per-byte origins
// reproduces that without the rest of the machinery.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/tokenizer/regex.h"

namespace statescope::tok {

// One element of HF's Pattern::find_matches: a byte range and whether the pattern matched it.
// The ranges cover the whole text in order.
struct Span {
    std::size_t begin;
    std::size_t end;
    bool is_match;
};

// HF's SplitDelimiterBehavior: what happens to the matched delimiters when splitting.
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Output of a transformation: characters appended with the origin each one inherits.
class NormalizedBuilder {
  public:
    void push(char32_t c, std::size_t origin);
    void push_bytes(std::string_view utf8, std::size_t origin);
    std::string text;
    std::vector<std::size_t> origins;
};

class NormalizedString {
  public:
    NormalizedString() = default;
    // `text` taken from the original input at byte `original_start`.
    NormalizedString(std::string_view text, std::size_t original_start);

    const std::string& text() const { return text_; }
    bool empty() const { return text_.empty(); }
    // HF's offsets_original().0: where this piece started in the original input when it was cut
    // out (in-place normalization does not move it).
    std::size_t original_start() const { return original_start_; }
    // Origin of the character at byte `pos` of the current text.
    std::size_t origin(std::size_t pos) const { return origins_[pos]; }

    // Bytes [begin, end) of the current text as a new piece (HF's slice: it starts where the
    // earliest of its characters came from).
    NormalizedString slice(std::size_t begin, std::size_t end) const;
    void assign(NormalizedBuilder&& built);

    // Replaces every match by `content`; inserted characters inherit the origin of the last byte
    // of the match they replace (as HF's NormalizedString::replace aligns them).
    void replace(const std::vector<ByteRange>& matches, std::string_view content);
    // Inserts `prefix` before a non-empty text; it inherits the first character's origin.
    void prepend(std::string_view prefix);

    // Splits on `spans` (from a find_matches function) as HF's NormalizedString::split does.
    std::vector<NormalizedString> split(const std::vector<Span>& spans,
                                        SplitBehavior behavior) const;

  private:
    std::string text_;
    std::vector<std::size_t> origins_;
    std::size_t original_start_ = 0;
};

// One element of HF's PreTokenizedString: text still to tokenize, or an added token already
// matched (added_id >= 0) that later stages leave alone.
struct Piece {
    NormalizedString text;
    std::int32_t added_id = -1;
};
using Pieces = std::vector<Piece>;

// HF's PreTokenizedString::split: `split` turns each untokenized piece into new pieces (plain
// NormalizedStrings or Pieces); pieces that come out empty are dropped (so empty text never
// reaches the model).
template <class SplitFn>
void split_pieces(Pieces& pieces, SplitFn&& split) {
    Pieces next;
    next.reserve(pieces.size());
    for (Piece& piece : pieces) {
        if (piece.added_id >= 0) {
            next.push_back(std::move(piece));
            continue;
        }
        for (auto& produced : split(piece.text)) {
            if constexpr (std::is_same_v<std::decay_t<decltype(produced)>, Piece>) {
                if (!produced.text.empty()) next.push_back(std::move(produced));
            } else {
                if (!produced.empty()) next.push_back(Piece{std::move(produced)});
            }
        }
    }
    pieces = std::move(next);
}

// HF's find_matches for a regex: matches and the gaps between them, covering `text`.
std::vector<Span> regex_spans(const Regex& regex, std::string_view text);
// HF's find_matches for a character predicate: each matching character is its own span.
template <class Predicate>
std::vector<Span> char_spans(std::string_view text, Predicate is_delimiter);
// HF's Invert pattern.
void invert(std::vector<Span>& spans);

}  // namespace statescope::tok

#include "core/tokenizer/unicode.h"

namespace statescope::tok {

template <class Predicate>
std::vector<Span> char_spans(std::string_view text, Predicate is_delimiter) {
    if (text.empty()) return {{0, 0, false}};
    std::vector<Span> spans;
    std::size_t gap_start = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t start = pos;
        const char32_t c = next_code_point(text, pos);
        if (is_delimiter(c)) {
            if (gap_start < start) spans.push_back({gap_start, start, false});
            spans.push_back({start, pos, true});
            gap_start = pos;
        }
    }
    if (gap_start < text.size()) spans.push_back({gap_start, text.size(), false});
    return spans;
}

}  // namespace statescope::tok
