#include "core/tokenizer/tokenizer.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/tokenizer/added_tokens.h"
#include "core/tokenizer/bpe.h"
#include "core/tokenizer/decoders.h"
#include "core/tokenizer/json_reader.h"
#include "core/tokenizer/normalizers.h"
#include "core/tokenizer/post_processors.h"
#include "core/tokenizer/pre_tokenizers.h"
#include "core/tokenizer/unicode.h"

namespace statescope {

using tok::Json;
using tok::JsonReader;

struct Tokenizer::Impl {
    std::string source_name;
    std::unique_ptr<tok::Normalizer> normalizer;
    std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
    std::unique_ptr<tok::Bpe> model;
    std::unique_ptr<tok::PostProcessor> post_processor;
    std::unique_ptr<tok::Decoder> decoder;
    tok::AddedVocabulary added;
};

Tokenizer Tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
    std::ifstream in(tokenizer_json, std::ios::binary);
    if (!in) throw Error(tokenizer_json.string() + ": cannot open the tokenizer file");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) throw Error(tokenizer_json.string() + ": cannot read the tokenizer file");
    return from_json(buffer.str(), tokenizer_json.string());
}

Tokenizer Tokenizer::from_json(std::string_view json_text, const std::string& source_name) {
    // nlohmann::json because tokenizer.json is plain JSON and the project already uses it for
    // config.json; parsing the 2 MB GPT-NeoX file takes a few tens of milliseconds.
    const JsonReader reader(source_name);
    Json root;
    try {
        root = Json::parse(json_text);
    } catch (const Json::exception& e) {
        reader.fail(std::string("not valid JSON: ") + e.what());
    }
    if (!root.is_object()) reader.fail("the top level is not a JSON object");
    if (const Json* version = reader.optional_field(root, "version")) {
        if (!version->is_string() || version->get<std::string>() != "1.0") {
            reader.fail("version is " + version->dump() + ", only \"1.0\" is known");
        }
    }

    auto impl = std::make_shared<Impl>();
    impl->source_name = source_name;
    const auto component = [&](std::string_view key) -> const Json& {
        static const Json null_json;
        const Json* value = reader.optional_field(root, key);
        return value != nullptr ? *value : null_json;
    };
    impl->normalizer = tok::make_normalizer(component("normalizer"), "normalizer", reader);
    impl->pre_tokenizer =
        tok::make_pre_tokenizer(component("pre_tokenizer"), "pre_tokenizer", reader);
    impl->post_processor =
        tok::make_post_processor(component("post_processor"), "post_processor", reader);
    impl->decoder = tok::make_decoder(component("decoder"), "decoder", reader);

    const Json& model = reader.field(root, "", "model");
    // Files from before "type" was written hold a BPE model when they have merges.
    std::string model_type =
        model.is_object() && model.contains("merges") && !model.contains("type")
            ? "BPE"
            : reader.type_of(model, "model", "model");
    if (model_type != "BPE") reader.unknown_type("model", model_type, "model", "BPE");
    impl->model = std::make_unique<tok::Bpe>(model, "model", reader);

    const tok::Bpe& bpe = *impl->model;
    impl->added.load(component("added_tokens"), "added_tokens", reader, impl->normalizer.get(),
                     [&](std::string_view content) { return bpe.token_to_id(content); });
    return Tokenizer(std::move(impl));
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
    const std::size_t bad = tok::find_invalid_utf8(text);
    if (bad != std::string_view::npos) {
        throw Error("text is not valid UTF-8 at byte " + std::to_string(bad));
    }
    const Impl& t = *impl_;
    tok::Pieces pieces = t.added.extract_and_normalize(text, t.normalizer.get());
    if (t.pre_tokenizer) t.pre_tokenizer->pre_tokenize(pieces);
    std::vector<std::int32_t> ids;
    ids.reserve(text.size() / 3 + 4);
    for (const tok::Piece& piece : pieces) {
        if (piece.added_id >= 0) {
            ids.push_back(piece.added_id);
        } else {
            t.model->tokenize(piece.text.text(), ids);
        }
    }
    if (add_special_tokens && t.post_processor) ids = t.post_processor->process(std::move(ids));
    return ids;
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool skip_special_tokens) const {
    const Impl& t = *impl_;
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (const std::int32_t id : ids) {
        // Added tokens first: their (normalized) content, as HF's simple_id_to_token.
        if (const tok::AddedToken* added = t.added.by_id(id)) {
            if (!(skip_special_tokens && added->special)) tokens.push_back(added->match_form);
            continue;
        }
        const std::string* token = t.model->id_to_token(id);
        if (token == nullptr) {
            // HF skips unknown ids silently; a wrong id here is a caller bug worth reporting.
            throw Error(t.source_name + ": token id " + std::to_string(id) +
                        " is out of range (vocabulary size " + std::to_string(vocab_size()) + ")");
        }
        tokens.push_back(*token);
    }
    if (!t.decoder) {
        std::string joined;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (i > 0) joined += ' ';
            joined += tokens[i];
        }
        return joined;
    }
    std::string text;
    for (const std::string& piece : t.decoder->decode_chain(std::move(tokens))) text += piece;
    return text;
}

std::int64_t Tokenizer::vocab_size() const {
    return std::max(impl_->model->id_limit(), impl_->added.id_limit());
}

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
    if (const auto id = impl_->added.id_of(token)) return id;
    return impl_->model->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(std::int32_t id) const {
    if (const tok::AddedToken* added = impl_->added.by_id(id)) return added->match_form;
    if (const std::string* token = impl_->model->id_to_token(id)) return *token;
    return std::nullopt;
}

bool Tokenizer::is_special(std::int32_t id) const {
    const tok::AddedToken* added = impl_->added.by_id(id);
    return added != nullptr && added->special;
}

const std::string& Tokenizer::source_name() const {
    return impl_->source_name;
}

}  // namespace statescope
