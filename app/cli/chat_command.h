// statescope-cli chat, and generate --chat: a model's own chat template, its end-of-turn stop ids,
// and an interactive terminal chat over a Conversation (core/chat/conversation.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "app/cli/commands.h"
#include "core/chat/conversation.h"

namespace statescope::cli {

struct ChatArgs {
    GenerateArgs gen;  // --model, --backend, sampling flags, --max-new, --stop
    std::optional<std::string> system;
    bool jrt = false;   // --jrt: each reply's prompt reads the latest user message twice
    bool save = false;  // --save: keep the conversation in the session store (chat_recorder.h)
    std::string db;     // --db: that store ("": the user's)
};

// The template and bos/eos of a checkpoint folder; Error naming the folder when it has none.
ChatFormat load_chat_format(const std::filesystem::path& model_dir);

// Every id that ends a reply: generation_config.json's eos_token_id (a number or a list; else
// config.json's), plus tokenizer_config.json's eos_token when it is an added special token.
std::vector<std::int64_t> chat_stop_ids(const std::filesystem::path& model_dir,
                                        const std::vector<std::int64_t>& config_eos,
                                        const Tokenizer& tokenizer, const std::string& eos_token);

int run_generate_chat(const GenerateArgs& a);

// Reads commands and messages from stdin (a terminal or a pipe), one per line; replies stream to
// stdout; everything else (stats, notices, errors) goes to stderr.
int run_chat(const ChatArgs& a);

}  // namespace statescope::cli
