#include "core/tokenizer/normalizers.h"

#include <utf8proc.h>

#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "core/tokenizer/unicode.h"

namespace statescope::tok {

namespace {

constexpr std::string_view kSupported =
    "NFC, NFD, NFKC, NFKD, Lowercase, Strip, Replace, Prepend, Sequence";

// utf8proc because it implements the four Unicode normalization forms from current Unicode data
// in one small C library (ICU would be far heavier); HF uses the Rust unicode-normalization crate.
std::string utf8proc_normalize(std::string_view text, int options) {
    utf8proc_uint8_t* out = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                            static_cast<utf8proc_ssize_t>(text.size()), &out,
                                            static_cast<utf8proc_option_t>(options));
    if (n < 0) {
        throw Error(std::string("Unicode normalization failed: ") + utf8proc_errmsg(n));
    }
    std::string result(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
    std::free(out);
    return result;
}

// Starters that may still compose with the character before them (NFC_Quick_Check=Maybe with
// combining class 0: Hangul vowels/trailing consonants and a few Indic vowel signs).
bool composes_backwards(char32_t c) {
    return (c >= 0x1161 && c <= 0x1175) || (c >= 0x11A8 && c <= 0x11C2) || c == 0x09BE ||
           c == 0x09D7 || c == 0x0B3E || c == 0x0B56 || c == 0x0B57 || c == 0x0BBE || c == 0x0BD7 ||
           c == 0x0C56 || c == 0x0CC2 || c == 0x0CD5 || c == 0x0CD6 || c == 0x0D3E || c == 0x0D57 ||
           c == 0x0DCF || c == 0x0DDF || c == 0x102E || c == 0x1B35 || c == 0x11127 ||
           c == 0x1133E || c == 0x11357 || c == 0x114B0 || c == 0x114BA || c == 0x114BD ||
           c == 0x115AF || c == 0x11930;
}

class UnicodeNormalizer final : public Normalizer {
  public:
    explicit UnicodeNormalizer(int options) : options_(options | UTF8PROC_STABLE) {}

    void normalize(NormalizedString& text) const override {
        const std::string& in = text.text();
        const std::string whole = utf8proc_normalize(in, options_);
        if (whole == in) return;
        // The text is `whole`. For origins, normalize cluster by cluster (a starter and the marks
        // after it): every output character inherits its cluster's start, as HF's alignments do
        // for decomposed and composed characters. Should clusters not reproduce `whole` (exotic
        // compositions), everything inherits the first character's origin.
        NormalizedBuilder out;
        std::size_t cluster = 0;
        std::size_t pos = 0;
        const auto flush = [&](std::size_t end) {
            if (end > cluster) {
                out.push_bytes(utf8proc_normalize(
                                   std::string_view(in).substr(cluster, end - cluster), options_),
                               text.origin(cluster));
            }
            cluster = end;
        };
        while (pos < in.size()) {
            const std::size_t start = pos;
            const char32_t c = next_code_point(in, pos);
            const auto* prop = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
            if (start > 0 && prop->combining_class == 0 && !composes_backwards(c)) flush(start);
        }
        flush(in.size());
        if (out.text != whole) {
            out.text = whole;
            out.origins.assign(whole.size(), in.empty() ? 0 : text.origin(0));
        }
        text.assign(std::move(out));
    }

  private:
    int options_;
};

class Lowercase final : public Normalizer {
  public:
    void normalize(NormalizedString& text) const override {
        const std::string& in = text.text();
        NormalizedBuilder out;
        out.text.reserve(in.size());
        std::size_t pos = 0;
        while (pos < in.size()) {
            const std::size_t start = pos;
            const char32_t c = next_code_point(in, pos);
            const std::size_t before = out.text.size();
            append_lowercase(out.text, c);
            out.origins.insert(out.origins.end(), out.text.size() - before, text.origin(start));
        }
        text.assign(std::move(out));
    }
};

// HF's Strip normalizer: removes leading/trailing characters with char::is_whitespace.
class Strip final : public Normalizer {
  public:
    Strip(bool left, bool right) : left_(left), right_(right) {}

    void normalize(NormalizedString& text) const override {
        const std::string& in = text.text();
        std::size_t begin = 0;
        std::size_t end = in.size();
        if (left_) {
            std::size_t pos = 0;
            while (pos < in.size() && is_white_space(next_code_point(in, pos))) begin = pos;
        }
        if (right_) {
            // Walk forward remembering where the last run of whitespace began.
            std::size_t pos = begin;
            std::size_t run_start = in.size();
            while (pos < in.size()) {
                const std::size_t start = pos;
                if (is_white_space(next_code_point(in, pos))) {
                    if (run_start == in.size()) run_start = start;
                } else {
                    run_start = in.size();
                }
            }
            end = run_start;
        }
        if (begin == 0 && end == in.size()) return;
        if (end < begin) end = begin;
        NormalizedBuilder out;
        out.text = in.substr(begin, end - begin);
        for (std::size_t i = begin; i < end; ++i) out.origins.push_back(text.origin(i));
        text.assign(std::move(out));
    }

  private:
    bool left_;
    bool right_;
};

class Replace final : public Normalizer {
  public:
    Replace(Regex pattern, std::string content)
        : pattern_(std::move(pattern)), content_(std::move(content)) {}

    void normalize(NormalizedString& text) const override {
        text.replace(pattern_.find_all(text.text()), content_);
    }

  private:
    Regex pattern_;
    std::string content_;
};

class Prepend final : public Normalizer {
  public:
    explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
    void normalize(NormalizedString& text) const override { text.prepend(prefix_); }

  private:
    std::string prefix_;
};

class Sequence final : public Normalizer {
  public:
    explicit Sequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
    void normalize(NormalizedString& text) const override {
        for (const auto& step : steps_) step->normalize(text);
    }

  private:
    std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const Json& json, const std::string& path,
                                            const JsonReader& reader) {
    if (json.is_null()) return nullptr;
    const std::string type = reader.type_of(json, path, "normalizer");
    if (type == "NFC") return std::make_unique<UnicodeNormalizer>(UTF8PROC_COMPOSE);
    if (type == "NFD") return std::make_unique<UnicodeNormalizer>(UTF8PROC_DECOMPOSE);
    if (type == "NFKC") {
        return std::make_unique<UnicodeNormalizer>(UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
    }
    if (type == "NFKD") {
        return std::make_unique<UnicodeNormalizer>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
    }
    if (type == "Lowercase") return std::make_unique<Lowercase>();
    if (type == "Strip") {
        return std::make_unique<Strip>(reader.bool_field(json, path, "strip_left", true),
                                       reader.bool_field(json, path, "strip_right", true));
    }
    if (type == "Replace") {
        return std::make_unique<Replace>(
            reader.pattern(reader.field(json, path, "pattern"), JsonReader::child(path, "pattern")),
            reader.string_field(json, path, "content"));
    }
    if (type == "Prepend") {
        return std::make_unique<Prepend>(reader.string_field(json, path, "prepend"));
    }
    if (type == "Sequence") {
        const std::string list_path = JsonReader::child(path, "normalizers");
        const Json& list = reader.field(json, path, "normalizers");
        if (!list.is_array()) reader.fail(list_path + " is not a list");
        std::vector<std::unique_ptr<Normalizer>> steps;
        for (std::size_t i = 0; i < list.size(); ++i) {
            auto step = make_normalizer(list[i], JsonReader::index(list_path, i), reader);
            if (step) steps.push_back(std::move(step));
        }
        return std::make_unique<Sequence>(std::move(steps));
    }
    reader.unknown_type("normalizer", type, path, kSupported);
}

}  // namespace statescope::tok
