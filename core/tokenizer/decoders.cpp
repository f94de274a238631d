#include "core/tokenizer/decoders.h"

#include "core/tokenizer/pre_tokenizers.h"
#include "core/tokenizer/unicode.h"

namespace statescope::tok {

namespace {

constexpr std::string_view kSupported =
    "ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, WordPiece, BPEDecoder, CTC, "
    "Sequence";

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

std::u32string code_points(std::string_view s) {
    std::u32string out;
    std::size_t pos = 0;
    while (pos < s.size()) out.push_back(next_code_point(s, pos));
    return out;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    if (from.empty()) return s;
    std::string out;
    std::size_t pos = 0;
    std::size_t found;
    while ((found = s.find(from, pos)) != std::string::npos) {
        out.append(s, pos, found - pos);
        out.append(to);
        pos = found + from.size();
    }
    out.append(s, pos);
    return out;
}

// GPT-2 table back to bytes; the whole output is one string through from_utf8_lossy, so bytes of
// one character split over two tokens join again, and broken sequences become U+FFFD.
class ByteLevel final : public Decoder {
  public:
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        std::string bytes;
        for (const std::string& token : tokens) {
            std::string mapped;
            bool all_mapped = true;
            std::size_t pos = 0;
            while (pos < token.size()) {
                const int b = byte_level_byte(next_code_point(token, pos));
                if (b < 0) {
                    all_mapped = false;
                    break;
                }
                mapped += static_cast<char>(b);
            }
            // A token with a character outside the table (an added token) is kept as it is.
            bytes += all_mapped ? mapped : token;
        }
        return {utf8_lossy(bytes)};
    }
};

class Metaspace final : public Decoder {
  public:
    Metaspace(char32_t replacement, bool strip_first)
        : replacement_(replacement), strip_first_(strip_first) {}

    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            std::string out;
            std::size_t pos = 0;
            while (pos < tokens[i].size()) {
                const char32_t c = next_code_point(tokens[i], pos);
                if (c != replacement_) {
                    append_utf8(out, c);
                } else if (!(i == 0 && strip_first_)) {
                    // The first token's replacement marks the added prefix space: dropped.
                    out += ' ';
                }
            }
            tokens[i] = std::move(out);
        }
        return tokens;
    }

  private:
    char32_t replacement_;
    bool strip_first_;
};

// "<0xAB>" tokens are gathered into bytes; a run that is not valid UTF-8 becomes one U+FFFD per
// byte (HF does not use the lossy conversion here).
class ByteFallback final : public Decoder {
  public:
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        std::vector<std::string> out;
        std::string pending;
        const auto flush = [&] {
            if (pending.empty()) return;
            if (find_invalid_utf8(pending) == std::string::npos) {
                out.push_back(pending);
            } else {
                for (std::size_t i = 0; i < pending.size(); ++i) out.emplace_back(kReplacementChar);
            }
            pending.clear();
        };
        for (std::string& token : tokens) {
            const int byte = parse_byte(token);
            if (byte >= 0) {
                pending += static_cast<char>(byte);
            } else {
                flush();
                out.push_back(std::move(token));
            }
        }
        flush();
        return out;
    }

  private:
    // "<0x" two hex digits ">", read with Rust's u8::from_str_radix (which also takes "+F").
    static int parse_byte(std::string_view token) {
        if (token.size() != 6 || !token.starts_with("<0x") || token.back() != '>') return -1;
        std::string_view digits = token.substr(3, 2);
        if (digits[0] == '+') digits.remove_prefix(1);
        int value = 0;
        for (const char c : digits) {
            int d;
            if (c >= '0' && c <= '9') {
                d = c - '0';
            } else if (c >= 'a' && c <= 'f') {
                d = c - 'a' + 10;
            } else if (c >= 'A' && c <= 'F') {
                d = c - 'A' + 10;
            } else {
                return -1;
            }
            value = value * 16 + d;
        }
        return value;
    }
};

class Fuse final : public Decoder {
  public:
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        std::string joined;
        for (const std::string& t : tokens) joined += t;
        return {joined};
    }
};

// Removes up to `start` leading and `stop` trailing `content` characters from every token.
class Strip final : public Decoder {
  public:
    Strip(char32_t content, std::size_t start, std::size_t stop)
        : content_(content), start_(start), stop_(stop) {}

    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        for (std::string& token : tokens) {
            const std::u32string chars = code_points(token);
            std::size_t begin = 0;
            while (begin < start_ && begin < chars.size() && chars[begin] == content_) ++begin;
            std::size_t end = chars.size();
            for (std::size_t i = 0; i < stop_ && end > begin && chars[end - 1] == content_; ++i) {
                --end;
            }
            std::string out;
            for (std::size_t i = begin; i < end; ++i) append_utf8(out, chars[i]);
            token = std::move(out);
        }
        return tokens;
    }

  private:
    char32_t content_;
    std::size_t start_;
    std::size_t stop_;
};

class Replace final : public Decoder {
  public:
    Replace(Regex pattern, std::string content)
        : pattern_(std::move(pattern)), content_(std::move(content)) {}

    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        for (std::string& token : tokens) {
            std::string out;
            std::size_t last = 0;
            for (const auto& [begin, end] : pattern_.find_all(token)) {
                out.append(token, last, begin - last);
                out += content_;
                last = end;
            }
            out.append(token, last);
            token = std::move(out);
        }
        return tokens;
    }

  private:
    Regex pattern_;
    std::string content_;
};

std::string wordpiece_cleanup(std::string s) {
    s = replace_all(std::move(s), " .", ".");
    s = replace_all(std::move(s), " ?", "?");
    s = replace_all(std::move(s), " !", "!");
    s = replace_all(std::move(s), " ,", ",");
    s = replace_all(std::move(s), " ' ", "'");
    s = replace_all(std::move(s), " n't", "n't");
    s = replace_all(std::move(s), " 'm", "'m");
    s = replace_all(std::move(s), " do not", " don't");
    s = replace_all(std::move(s), " 's", "'s");
    s = replace_all(std::move(s), " 've", "'ve");
    return replace_all(std::move(s), " 're", "'re");
}

class WordPiece final : public Decoder {
  public:
    WordPiece(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}

    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (i != 0) {
                if (tokens[i].starts_with(prefix_)) {
                    tokens[i].erase(0, prefix_.size());
                } else {
                    tokens[i] = " " + tokens[i];
                }
            }
            if (cleanup_) tokens[i] = wordpiece_cleanup(std::move(tokens[i]));
        }
        return tokens;
    }

  private:
    std::string prefix_;
    bool cleanup_;
};

// The original BPE decoder: the end-of-word suffix becomes a space, except on the last token.
class BpeDecoder final : public Decoder {
  public:
    explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            tokens[i] =
                replace_all(std::move(tokens[i]), suffix_, i + 1 == tokens.size() ? "" : " ");
        }
        return tokens;
    }

  private:
    std::string suffix_;
};

class Ctc final : public Decoder {
  public:
    Ctc(std::string pad, std::string delimiter, bool cleanup)
        : pad_(std::move(pad)), delimiter_(std::move(delimiter)), cleanup_(cleanup) {}
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (i > 0 && tokens[i] == tokens[i - 1]) continue;  // CTC collapses repeats
            std::string t = replace_all(tokens[i], pad_, "");
            if (cleanup_) t = replace_all(wordpiece_cleanup(std::move(t)), delimiter_, " ");
            if (!t.empty()) out.push_back(std::move(t));
        }
        return out;
    }

  private:
    std::string pad_;
    std::string delimiter_;
    bool cleanup_;
};

class Sequence final : public Decoder {
  public:
    explicit Sequence(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
        for (const auto& step : steps_) tokens = step->decode_chain(std::move(tokens));
        return tokens;
    }

  private:
    std::vector<std::unique_ptr<Decoder>> steps_;
};

std::size_t count_field(const Json& json, const std::string& path, std::string_view key,
                        const JsonReader& reader) {
    const std::int64_t n = reader.int_field(json, path, key);
    if (n < 0) reader.fail(JsonReader::child(path, key) + " is negative");
    return static_cast<std::size_t>(n);
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const Json& json, const std::string& path,
                                      const JsonReader& reader) {
    if (json.is_null()) return nullptr;
    const std::string type = reader.type_of(json, path, "decoder");
    if (type == "ByteLevel") return std::make_unique<ByteLevel>();
    if (type == "Metaspace") {
        std::string scheme =
            reader.optional_string(json, path, "prepend_scheme").value_or("always");
        if (!reader.bool_field(json, path, "add_prefix_space", true)) scheme = "never";
        return std::make_unique<Metaspace>(reader.char_field(json, path, "replacement"),
                                           scheme != "never");
    }
    if (type == "ByteFallback") return std::make_unique<ByteFallback>();
    if (type == "Fuse") return std::make_unique<Fuse>();
    if (type == "Strip") {
        return std::make_unique<Strip>(reader.char_field(json, path, "content"),
                                       count_field(json, path, "start", reader),
                                       count_field(json, path, "stop", reader));
    }
    if (type == "Replace") {
        return std::make_unique<Replace>(
            reader.pattern(reader.field(json, path, "pattern"), JsonReader::child(path, "pattern")),
            reader.string_field(json, path, "content"));
    }
    if (type == "WordPiece") {
        return std::make_unique<WordPiece>(
            reader.optional_string(json, path, "prefix").value_or("##"),
            reader.bool_field(json, path, "cleanup", true));
    }
    if (type == "BPEDecoder") {
        return std::make_unique<BpeDecoder>(
            reader.optional_string(json, path, "suffix").value_or("</w>"));
    }
    if (type == "CTC") {
        return std::make_unique<Ctc>(
            reader.optional_string(json, path, "pad_token").value_or("<pad>"),
            reader.optional_string(json, path, "word_delimiter_token").value_or("|"),
            reader.bool_field(json, path, "cleanup", true));
    }
    if (type == "Sequence") {
        const std::string list_path = JsonReader::child(path, "decoders");
        const Json& list = reader.field(json, path, "decoders");
        if (!list.is_array()) reader.fail(list_path + " is not a list");
        std::vector<std::unique_ptr<Decoder>> steps;
        for (std::size_t i = 0; i < list.size(); ++i) {
            auto step = make_decoder(list[i], JsonReader::index(list_path, i), reader);
            if (step) steps.push_back(std::move(step));
        }
        return std::make_unique<Sequence>(std::move(steps));
    }
    reader.unknown_type("decoder", type, path, kSupported);
}

}  // namespace statescope::tok
