#include "core/tokenizer/pre_tokenizers.h"

#include <array>
#include <vector>

#include "core/tokenizer/unicode.h"

namespace statescope::tok {

namespace {

constexpr std::string_view kSupported =
    "ByteLevel, Split, Metaspace, Digits, Whitespace, WhitespaceSplit, Punctuation, "
    "BertPreTokenizer, Sequence";

// GPT-2's split regex as HF hard-codes it, with `\s` spelled as the White_Space property that
// Oniguruma (HF's engine) means by it.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+)"
    R"(|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+)";

// HF's Whitespace pre-tokenizer regex `\w+|[^\w\s]+` in the Rust regex crate's Unicode classes.
constexpr std::string_view kWordPattern =
    R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+)"
    R"(|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+)";

class ByteLevel final : public PreTokenizer {
  public:
    ByteLevel(bool add_prefix_space, bool use_regex)
        : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}

    void pre_tokenize(Pieces& pieces) const override {
        static const Regex gpt2(kGpt2Pattern, Regex::Syntax::Pcre2);
        split_pieces(pieces, [&](NormalizedString& text) {
            if (add_prefix_space_ && text.text().front() != ' ') text.prepend(" ");
            if (!use_regex_) return std::vector<NormalizedString>{text};
            return text.split(regex_spans(gpt2, text.text()), SplitBehavior::Isolated);
        });
        // Every byte becomes one printable character of the GPT-2 table.
        for (Piece& piece : pieces) {
            if (piece.added_id >= 0) continue;
            const std::string& in = piece.text.text();
            NormalizedBuilder out;
            out.text.reserve(in.size() * 2);
            for (std::size_t i = 0; i < in.size(); ++i) {
                out.push_bytes(byte_level_char(static_cast<unsigned char>(in[i])),
                               piece.text.origin(i));
            }
            piece.text.assign(std::move(out));
        }
    }

  private:
    bool add_prefix_space_;
    bool use_regex_;
};

class Split final : public PreTokenizer {
  public:
    Split(Regex pattern, SplitBehavior behavior, bool invert)
        : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

    void pre_tokenize(Pieces& pieces) const override {
        split_pieces(pieces, [&](NormalizedString& text) {
            auto spans = regex_spans(pattern_, text.text());
            if (invert_) invert(spans);
            return text.split(spans, behavior_);
        });
    }

  private:
    Regex pattern_;
    SplitBehavior behavior_;
    bool invert_;
};

enum class PrependScheme { Always, First, Never };

class Metaspace final : public PreTokenizer {
  public:
    Metaspace(char32_t replacement, PrependScheme scheme, bool split)
        : replacement_(replacement),
          replacement_utf8_(to_utf8(replacement)),
          scheme_(scheme),
          split_(split) {}

    void pre_tokenize(Pieces& pieces) const override {
        static const Regex space(" ", Regex::Syntax::Literal);
        split_pieces(pieces, [&](NormalizedString& text) {
            text.replace(space.find_all(text.text()), replacement_utf8_);
            const bool starts_with_replacement = text.text().starts_with(replacement_utf8_);
            // "first" prepends only to the piece that begins the original input: text after an
            // added token (e.g. "<s>Hello") gets no "▁".
            if (!starts_with_replacement &&
                (scheme_ == PrependScheme::Always ||
                 (scheme_ == PrependScheme::First && text.original_start() == 0))) {
                text.prepend(replacement_utf8_);
            }
            if (!split_) return std::vector<NormalizedString>{text};
            const char32_t r = replacement_;
            return text.split(char_spans(text.text(), [r](char32_t c) { return c == r; }),
                              SplitBehavior::MergedWithNext);
        });
    }

  private:
    char32_t replacement_;
    std::string replacement_utf8_;
    PrependScheme scheme_;
    bool split_;
};

// Splits with a character predicate (Digits, WhitespaceSplit, Punctuation, BertPreTokenizer).
template <class Predicate>
class CharSplit final : public PreTokenizer {
  public:
    CharSplit(Predicate predicate, SplitBehavior behavior)
        : predicate_(predicate), behavior_(behavior) {}

    void pre_tokenize(Pieces& pieces) const override {
        split_pieces(pieces, [&](NormalizedString& text) {
            return text.split(char_spans(text.text(), predicate_), behavior_);
        });
    }

  private:
    Predicate predicate_;
    SplitBehavior behavior_;
};

template <class Predicate>
std::unique_ptr<PreTokenizer> make_char_split(Predicate predicate, SplitBehavior behavior) {
    return std::make_unique<CharSplit<Predicate>>(predicate, behavior);
}

// Whitespace: keeps runs of word characters and runs of other non-space characters.
class Whitespace final : public PreTokenizer {
  public:
    void pre_tokenize(Pieces& pieces) const override {
        static const Regex words(kWordPattern, Regex::Syntax::Pcre2);
        split_pieces(pieces, [&](NormalizedString& text) {
            auto spans = regex_spans(words, text.text());
            invert(spans);
            return text.split(spans, SplitBehavior::Removed);
        });
    }
};

class Sequence final : public PreTokenizer {
  public:
    explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps)
        : steps_(std::move(steps)) {}
    void pre_tokenize(Pieces& pieces) const override {
        for (const auto& step : steps_) step->pre_tokenize(pieces);
    }

  private:
    std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

PrependScheme parse_prepend_scheme(const Json& json, const std::string& path,
                                   const JsonReader& reader) {
    PrependScheme scheme = PrependScheme::Always;  // HF's default when the field is absent
    if (auto name = reader.optional_string(json, path, "prepend_scheme")) {
        if (*name == "always") {
            scheme = PrependScheme::Always;
        } else if (*name == "first") {
            scheme = PrependScheme::First;
        } else if (*name == "never") {
            scheme = PrependScheme::Never;
        } else {
            reader.fail(JsonReader::child(path, "prepend_scheme") + " is \"" + *name +
                        "\", not \"always\", \"first\" or \"never\"");
        }
    }
    // Files from before prepend_scheme existed say add_prefix_space; false meant never. (HF now
    // refuses false next to a scheme other than "never"; reading it as "never" is kinder.)
    if (!reader.bool_field(json, path, "add_prefix_space", true)) scheme = PrependScheme::Never;
    return scheme;
}

}  // namespace

const std::string& byte_level_char(unsigned char byte) {
    static const std::array<std::string, 256> table = [] {
        std::array<std::string, 256> t;
        char32_t next_extra = 0x100;
        for (int b = 0; b < 256; ++b) {
            const bool printable =
                (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t[static_cast<std::size_t>(b)] =
                to_utf8(printable ? static_cast<char32_t>(b) : next_extra++);
        }
        return t;
    }();
    return table[byte];
}

int byte_level_byte(char32_t c) {
    static const std::array<int, 0x144> inverse = [] {
        std::array<int, 0x144> t;
        t.fill(-1);
        for (int b = 0; b < 256; ++b) {
            const std::string& s = byte_level_char(static_cast<unsigned char>(b));
            std::size_t pos = 0;
            t[next_code_point(s, pos)] = b;
        }
        return t;
    }();
    return c < inverse.size() ? inverse[c] : -1;
}

SplitBehavior parse_split_behavior(const Json& json, const std::string& path,
                                   const JsonReader& reader) {
    if (json.is_string()) {
        const std::string name = json.get<std::string>();
        if (name == "Removed") return SplitBehavior::Removed;
        if (name == "Isolated") return SplitBehavior::Isolated;
        if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
        if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
        if (name == "Contiguous") return SplitBehavior::Contiguous;
    }
    reader.fail(path + " is " + json.dump() +
                ", not one of \"Removed\", \"Isolated\", \"MergedWithPrevious\", "
                "\"MergedWithNext\", \"Contiguous\"");
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& json, const std::string& path,
                                                 const JsonReader& reader) {
    if (json.is_null()) return nullptr;
    const std::string type = reader.type_of(json, path, "pre_tokenizer");
    if (type == "ByteLevel") {
        // trim_offsets only moves offsets, which Statescope does not report.
        return std::make_unique<ByteLevel>(reader.bool_field(json, path, "add_prefix_space", true),
                                           reader.bool_field(json, path, "use_regex", true));
    }
    if (type == "Split") {
        return std::make_unique<Split>(
            reader.pattern(reader.field(json, path, "pattern"), JsonReader::child(path, "pattern")),
            parse_split_behavior(reader.field(json, path, "behavior"),
                                 JsonReader::child(path, "behavior"), reader),
            reader.bool_field(json, path, "invert", false));
    }
    if (type == "Metaspace") {
        return std::make_unique<Metaspace>(reader.char_field(json, path, "replacement"),
                                           parse_prepend_scheme(json, path, reader),
                                           reader.bool_field(json, path, "split", true));
    }
    if (type == "Digits") {
        return make_char_split(is_numeric, reader.bool_field(json, path, "individual_digits", false)
                                               ? SplitBehavior::Isolated
                                               : SplitBehavior::Contiguous);
    }
    if (type == "Whitespace") return std::make_unique<Whitespace>();
    if (type == "WhitespaceSplit") return make_char_split(is_white_space, SplitBehavior::Removed);
    if (type == "Punctuation") {
        const Json* behavior = reader.optional_field(json, "behavior");
        return make_char_split(
            is_punctuation,
            behavior ? parse_split_behavior(*behavior, JsonReader::child(path, "behavior"), reader)
                     : SplitBehavior::Isolated);
    }
    if (type == "BertPreTokenizer") {
        std::vector<std::unique_ptr<PreTokenizer>> steps;
        steps.push_back(make_char_split(is_white_space, SplitBehavior::Removed));
        steps.push_back(make_char_split(is_punctuation, SplitBehavior::Isolated));
        return std::make_unique<Sequence>(std::move(steps));
    }
    if (type == "Sequence") {
        const std::string list_path = JsonReader::child(path, "pretokenizers");
        const Json& list = reader.field(json, path, "pretokenizers");
        if (!list.is_array()) reader.fail(list_path + " is not a list");
        std::vector<std::unique_ptr<PreTokenizer>> steps;
        for (std::size_t i = 0; i < list.size(); ++i) {
            auto step = make_pre_tokenizer(list[i], JsonReader::index(list_path, i), reader);
            if (step) steps.push_back(std::move(step));
        }
        return std::make_unique<Sequence>(std::move(steps));
    }
    reader.unknown_type("pre_tokenizer", type, path, kSupported);
}

}  // namespace statescope::tok
